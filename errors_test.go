package secagg_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/octomil/secagg"
)

func TestExitStatus(t *testing.T) {
	for code, want := range map[secagg.Code]int{
		secagg.CodeValidation: 3, secagg.CodeBadRequest: 4, secagg.CodeInsufficientClients: 5,
		secagg.CodeConflict: 6, secagg.CodePayloadTooLarge: 7, "internal_error": 1,
	} {
		assert.Equal(t, want, code.ExitStatus(), code)
	}
}

// TestFindError: an error that crossed a process boundary as text is found again, code
// and message, the first one in the text; text without one is not an error of ours.
func TestFindError(t *testing.T) {
	text := "job failed:\n\tinvoking AddInput\nbad_request: update has 9 values, want 10\nthen validation_error: later"
	e, ok := secagg.FindError(text)
	require.True(t, ok)
	assert.Equal(t, secagg.CodeBadRequest, e.Code)
	assert.Equal(t, "update has 9 values, want 10", e.Message)
	assert.Equal(t, 400, e.Status)
	e, ok = secagg.FindError(`error="validation_error: update[3] is NaN: not finite" more`)
	require.True(t, ok)
	assert.Equal(t, "update[3] is NaN: not finite", e.Message)
	_, ok = secagg.FindError("a plain failure")
	assert.False(t, ok)
}

// AsError keeps the contract's errors, wrapped or not, and makes anything else an
// internal_error with its text.
func TestAsError(t *testing.T) {
	e := secagg.Errorf(secagg.CodeConflict, "round", "late")
	assert.Same(t, e, secagg.AsError(fmt.Errorf("wrapped: %w", e)))
	other := secagg.AsError(errors.New("disk full"))
	assert.Equal(t, &secagg.Error{Code: "internal_error", Message: "disk full", Status: 500}, other)
	assert.Equal(t, 1, other.Code.ExitStatus())
}
