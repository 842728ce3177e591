package secagg

import (
	"bytes"
	"encoding/json"
)

// DecodeSettings reads a JSON object of settings (what names them in messages) into v
// strictly: not an object, a null value or an unknown key is a bad_request, the null
// naming its key. It returns the keys given, for aliases and defaults that depend on
// whether a key was present.
func DecodeSettings(b []byte, v any, what string) (map[string]json.RawMessage, error) {
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(b, &keys); err != nil {
		return nil, Errorf(CodeBadRequest, "config", "%s are not a JSON object: %v", what, err)
	}
	for k, raw := range keys {
		if string(raw) == "null" {
			return nil, Errorf(CodeBadRequest, k, "%s is null: leave it out or give a value", k)
		}
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return nil, Errorf(CodeBadRequest, "config", "%s: %v", what, err)
	}
	return keys, nil
}
