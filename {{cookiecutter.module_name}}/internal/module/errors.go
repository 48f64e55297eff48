package module

import (
	"errors"
	"fmt"

	timod "github.com/thingsdb/go-timod"
)

// Error is an error with a ThingsDB error code, sent back as is.
type Error struct {
	Code timod.Ex
	Msg  string
}

// Error implements error.
func (e *Error) Error() string {
	return fmt.Sprintf("%s (%d)", e.Msg, e.Code)
}

// Errorf returns an *Error with code and a formatted message. Use the
// built-in codes (timod.ExLookupError, timod.ExValueError, ...) or the custom
// ones, timod.ExCustom100 to timod.ExCustom127.
func Errorf(code timod.Ex, format string, args ...any) *Error {
	return &Error{Code: code, Msg: fmt.Sprintf(format, args...)}
}

// errorReply gives the ThingsDB error code and message for err: its own for
// an *Error, an operation error for anything else.
func errorReply(err error) (timod.Ex, string) {
	var e *Error
	if errors.As(err, &e) {
		return e.Code, e.Msg
	}
	return timod.ExOperation, err.Error()
}

// TypeName names the type of a decoded MessagePack value the way ThingsDB
// does in its error messages: nil, bool, int, float, str, bytes, list, thing,
// or mpdata for anything else.
func TypeName(v any) string {
	switch v.(type) {
	case nil:
		return "nil"
	case bool:
		return "bool"
	case string:
		return "str"
	case []byte:
		return "bytes"
	case float32, float64:
		return "float"
	case int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
		return "int"
	case []any:
		return "list"
	case map[string]any, map[any]any:
		return "thing"
	}
	return "mpdata"
}
