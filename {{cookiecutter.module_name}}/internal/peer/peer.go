// Package peer is ThingsDB's side of the module protocol, for tests and for
// trying a module without a ThingsDB server (tools/peer).
//
// ThingsDB runs a module as a child process with a socket pair as stdin and
// another as stdout, and exchanges packages: an 8-byte little-endian header
// (uint32 body length, uint16 pid, uint8 type, uint8 type ^ 0xFF) followed by
// a MessagePack body. Start does the same; BuildRequest builds the request
// ThingsDB sends for a call of an exposed function, from module.json.
//
// Values are canonical Go values everywhere: nil, bool, int64 (uint64 only
// above math.MaxInt64), float64, string, []byte, []any and map[string]any;
// an extension value is an Ext. Marshal packs them as ThingsDB does, each
// integer in its smallest form.
package peer

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Package types.
const (
	TypeConf    = 64 // ThingsDB -> module: the configuration (pid 0)
	TypeConfOK  = 65 // module -> ThingsDB: configuration taken (empty body)
	TypeConfErr = 66 // module -> ThingsDB: configuration refused, [code, message]
	TypeReq     = 80 // ThingsDB -> module: a request, a thing
	TypeRes     = 81 // module -> ThingsDB: the answer to a request
	TypeErr     = 82 // module -> ThingsDB: the error of a request, [code, message]
)

// HeaderSize is the size of a package header.
const HeaderSize = 8

// ConfDeep is how many levels of things deep ThingsDB packs a configuration
// (ti_module_conf_pkg): deeper things arrive empty.
const ConfDeep = 3

// maxPackage is the largest package ThingsDB takes from a module
// (TI_PKG_MAX_SIZE); a header announcing more is a corrupt stream.
const maxPackage = 1 << 30

// ErrorCodes are ThingsDB's built-in error codes by name. Custom errors use
// -127 to -100.
var ErrorCodes = map[string]int{
	"cancelled_err":     -64,
	"operation_err":     -63,
	"num_arguments_err": -62,
	"type_err":          -61,
	"value_err":         -60,
	"overflow_err":      -59,
	"zero_div_err":      -58,
	"max_quota_err":     -57,
	"auth_err":          -56,
	"forbidden_err":     -55,
	"lookup_err":        -54,
	"bad_data_err":      -53,
	"syntax_err":        -52,
	"node_err":          -51,
	"assert_err":        -50,
}

var errorNames = func() map[int]string {
	names := make(map[int]string, len(ErrorCodes))
	for name, code := range ErrorCodes {
		names[code] = name
	}
	return names
}()

// ErrorName returns ThingsDB's name for an error code: "custom_err" for the
// custom codes, "unknown_err" for a code ThingsDB does not have.
func ErrorName(code int) string {
	if code >= -127 && code <= -100 {
		return "custom_err"
	}
	if name, ok := errorNames[code]; ok {
		return name
	}
	return "unknown_err"
}

// typeNames name the package types in messages.
var typeNames = map[uint8]string{
	TypeConf:    "CONF",
	TypeConfOK:  "CONF_OK",
	TypeConfErr: "CONF_ERR",
	TypeReq:     "REQ",
	TypeRes:     "RES",
	TypeErr:     "ERR",
}

// Header returns a package header. The check byte is given, not computed, so
// that tests can send a wrong one; a right one is tp ^ 0xFF.
func Header(length uint32, pid uint16, tp, check uint8) []byte {
	h := make([]byte, HeaderSize)
	binary.LittleEndian.PutUint32(h, length)
	binary.LittleEndian.PutUint16(h[4:], pid)
	h[6], h[7] = tp, check
	return h
}

// Frame returns the package of body: its header, then body as it is.
func Frame(pid uint16, tp uint8, body []byte) []byte {
	return append(Header(uint32(len(body)), pid, tp, tp^0xFF), body...)
}

// Pack returns the package of value, packed as MessagePack.
func Pack(pid uint16, tp uint8, value any) ([]byte, error) {
	body, err := Marshal(value)
	if err != nil {
		return nil, err
	}
	return Frame(pid, tp, body), nil
}

// Package is a package read from a module.
type Package struct {
	Pid  uint16
	Type uint8
	Body []byte
}

// Value returns the body decoded from MessagePack; nil for an empty body.
func (p Package) Value() (any, error) {
	if len(p.Body) == 0 {
		return nil, nil
	}
	return Unmarshal(p.Body)
}

// Failure returns the code and message of an ERR or CONF_ERR package; ok is
// false for any other package, and for an error body that is not [code,
// message].
func (p Package) Failure() (code int, message string, ok bool) {
	if p.Type != TypeErr && p.Type != TypeConfErr {
		return 0, "", false
	}
	v, err := p.Value()
	if err != nil {
		return 0, "", false
	}
	list, _ := v.([]any)
	if len(list) != 2 {
		return 0, "", false
	}
	n, isInt := list[0].(int64)
	message, isStr := list[1].(string)
	if !isInt || !isStr {
		return 0, "", false
	}
	return int(n), message, true
}

// Result returns the value of a RES package. For an ERR or CONF_ERR package
// it returns a *ModuleError, for any other package an error saying what came.
func (p Package) Result() (any, error) {
	if code, message, ok := p.Failure(); ok {
		return nil, &ModuleError{Code: code, Message: message}
	}
	if p.Type != TypeRes {
		return nil, fmt.Errorf("the module answered with %s, not RES", p)
	}
	return p.Value()
}

// Render returns the body as the try-out command prints it (see Render),
// with the keys of maps in the order the module sent them.
func (p Package) Render() (string, error) {
	if len(p.Body) == 0 {
		return "", nil
	}
	v, err := unmarshal(p.Body, true)
	if err != nil {
		return "", err
	}
	return Render(v), nil
}

// String describes the package for messages: its type, pid and body.
func (p Package) String() string {
	name, ok := typeNames[p.Type]
	if !ok {
		name = fmt.Sprintf("type %d", p.Type)
	}
	body, err := p.Render()
	switch {
	case err != nil:
		body = fmt.Sprintf("% x (not MessagePack: %v)", p.Body, err)
	case len(p.Body) == 0:
		body = "(empty)"
	}
	return fmt.Sprintf("%s pid %d: %s", name, p.Pid, body)
}

// ModuleError is an error a module answered with.
type ModuleError struct {
	Code    int
	Message string
}

func (e *ModuleError) Error() string {
	return fmt.Sprintf("%s (%d): %s", ErrorName(e.Code), e.Code, e.Message)
}

// ErrTimeout reports a module that did not answer in time.
var ErrTimeout = errors.New("the module did not answer in time")

// ErrStdoutClosed reports a module whose stdout ended.
var ErrStdoutClosed = errors.New("the module closed its stdout")
