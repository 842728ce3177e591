package secagg

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Code is the platform's machine-readable error code, the "error" key of the wire form.
type Code string

// The codes of the platform's error contract.
const (
	CodeValidation          Code = "validation_error"     // a parameter or value is out of range (422)
	CodeBadRequest          Code = "bad_request"          // a call is malformed: wrong length, empty buffer (400)
	CodeInsufficientClients Code = "insufficient_clients" // too few updates for the round or strategy (400)
	CodeConflict            Code = "conflict"             // duplicate client, or a call after finalising (409)
	CodePayloadTooLarge     Code = "payload_too_large"    // the configured memory budget would be exceeded (413)
)

// codes are the contract's codes in the order of their exit statuses.
var codes = []Code{CodeValidation, CodeBadRequest, CodeInsufficientClients, CodeConflict, CodePayloadTooLarge}

// ExitStatus is the exit status every command of the project gives an error of the code:
// 3 validation_error, 4 bad_request, 5 insufficient_clients, 6 conflict, 7
// payload_too_large, 1 any other (2 is a bad command line's).
func (c Code) ExitStatus() int {
	if i := slices.Index(codes, c); i >= 0 {
		return 3 + i
	}
	return 1
}

// FindError returns the first error of the contract written in text as its Error()
// form, "<code>: message" (the message running to the end of its line or of a quoted
// string), for errors that lost their type on the way: a Beam worker's reaches the
// pipeline's driver as text.
func FindError(text string) (*Error, bool) {
	best, at := Code(""), -1
	for _, c := range codes {
		if i := strings.Index(text, string(c)+": "); i >= 0 && (at < 0 || i < at) {
			best, at = c, i
		}
	}
	if at < 0 {
		return nil, false
	}
	msg := text[at+len(best)+2:]
	if end := strings.IndexAny(msg, "\n\""); end >= 0 {
		msg = msg[:end]
	}
	return &Error{Code: best, Message: msg, Status: best.Status()}, true
}

// Status returns the HTTP status the platform pairs with the code, or 500 for an unknown code.
func (c Code) Status() int {
	switch c {
	case CodeValidation:
		return 422
	case CodeBadRequest, CodeInsufficientClients:
		return 400
	case CodeConflict:
		return 409
	case CodePayloadTooLarge:
		return 413
	}
	return 500
}

// Error is the one error type of the library. The coordinator returns it to clients
// unchanged, so it knows its own wire form (see MarshalJSON).
type Error struct {
	Code    Code   // machine-readable code
	Message string // human-readable: names the field, the value and the allowed range
	Status  int    // HTTP status paired with Code
	Field   string // the offending parameter, for validation errors; not part of the wire form
}

// Sentinels, one per code, for errors.Is: errors.Is(err, ErrValidation) reports whether
// err carries the code validation_error, whatever its message.
var (
	ErrValidation          = &Error{Code: CodeValidation, Status: 422, Message: "validation error"}
	ErrBadRequest          = &Error{Code: CodeBadRequest, Status: 400, Message: "bad request"}
	ErrInsufficientClients = &Error{Code: CodeInsufficientClients, Status: 400, Message: "insufficient clients"}
	ErrConflict            = &Error{Code: CodeConflict, Status: 409, Message: "conflict"}
	ErrPayloadTooLarge     = &Error{Code: CodePayloadTooLarge, Status: 413, Message: "payload too large"}
)

// Errorf returns an Error with the given code, the status the code implies, and a
// message formatted as by fmt.Sprintf. field names the offending parameter ("" if none).
func Errorf(code Code, field, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...), Status: code.Status(), Field: field}
}

// AsError returns err in the contract's shape, for the doors that print or return every
// failure that way (the commands, the C ABI): the *Error it wraps, or else an
// internal_error (status 500) carrying its text.
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Code: "internal_error", Message: err.Error(), Status: 500}
}

// Error returns the message, prefixed with the code so logs stay greppable.
func (e *Error) Error() string { return string(e.Code) + ": " + e.Message }

// Is reports whether target is an *Error with the same code, which makes the
// sentinels work with errors.Is.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// wireError fixes the key order of the wire form.
type wireError struct {
	Error      Code   `json:"error"`
	Message    string `json:"message"`
	StatusCode int    `json:"status_code"`
}

// MarshalJSON returns exactly the platform's shape, keys in this order:
// {"error":"validation_error","message":"...","status_code":422}.
// Characters such as '<' and '>' are written as they are, not \u-escaped.
func (e *Error) MarshalJSON() ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(wireError{e.Code, e.Message, e.Status}); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// UnmarshalJSON reads the platform's shape back, so Go clients of the coordinator
// get the same typed errors. Field is not on the wire and stays empty.
func (e *Error) UnmarshalJSON(b []byte) error {
	var w wireError
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	if w.Error == "" {
		return fmt.Errorf("secagg: error object without an \"error\" code: %s", b)
	}
	*e = Error{Code: w.Error, Message: w.Message, Status: w.StatusCode}
	return nil
}
