package secagg_test

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/octomil/secagg"
)

// A rejected parameter carries its wire form, ready for the coordinator's response.
func ExampleValidateTrimRatio() {
	err := secagg.ValidateTrimRatio(0.7)
	if errors.Is(err, secagg.ErrValidation) {
		b, _ := json.Marshal(err)
		fmt.Println(string(b))
	}
	var e *secagg.Error
	if errors.As(err, &e) {
		fmt.Println(e.Field, e.Status)
	}
	// Output:
	// {"error":"validation_error","message":"trim_ratio must be in [0, 0.5), got 0.7","status_code":422}
	// trim_ratio 422
}
