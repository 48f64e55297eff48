package module

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"

	timod "github.com/thingsdb/go-timod"
	"github.com/vmihailenco/msgpack/v4"

	"{{ cookiecutter.go_module_path }}/internal/mpack"
	"{{ cookiecutter.go_module_path }}/internal/valuetext"
)

// Example is a call of a function and what it answers, given next to the
// handler in Func. The tests call every example (directly, over the wire,
// and through a real ThingsDB), and tools/manifest writes them into
// README.md, so an example is never out of date.
type Example struct {
	// Args are the positional arguments as a ThingsDB call gives them; a
	// thing for a trailing `*` comes last. Arguments left out get their
	// defaults.
	Args []any
	// Answer is what the call answers when Err is empty.
	Answer any
	// Err is the ThingsDB error the call gets instead, by name (type_err,
	// num_arguments_err, value_err, ...), and Message its message.
	Err     string
	Message string
}

// ErrorCodes are ThingsDB's built-in error codes by name, for Example.Err.
var ErrorCodes = map[string]timod.Ex{
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

// ErrorName is ThingsDB's name for code: custom_err for the custom codes
// (-127 to -100).
func ErrorName(code timod.Ex) string {
	for name, c := range ErrorCodes {
		if c == code {
			return name
		}
	}
	if code >= -127 && code <= -100 {
		return "custom_err"
	}
	return "unknown_err"
}

// Examples returns the function's examples.
func (f Function[C]) Examples() []Example { return f.examples }

// Request is the request ThingsDB sends for a call of the function with
// positional args: each argument by its name (the default of an optional
// one left out, nil for a required one), the properties of a trailing `*`
// thing, and the function key.
func (f Function[C]) Request(args []any) map[string]any {
	request := map[string]any{}
	arguments := f.Arguments()
	for i, a := range arguments {
		if i < len(args) {
			request[a.Name] = args[i]
		} else if a.Optional {
			request[a.Name] = a.Default
		} else {
			request[a.Name] = nil
		}
	}
	if f.Options() && len(args) > len(arguments) {
		if thing, ok := args[len(arguments)].(map[string]any); ok {
			for key, value := range thing {
				request[key] = value
			}
		}
	}
	if _, ok := request[functionKey]; !ok {
		request[functionKey] = f.name
	}
	return request
}

// Call calls the function as the module does for a ThingsDB call with
// positional args: the request goes through the same argument checks, and
// the answer comes back as the reply carries it (see Canonical).
func (f Function[C]) Call(ctx context.Context, conf C, args []any) (result any, err error) {
	if f.err != nil {
		return nil, f.err
	}
	body, err := msgpack.Marshal(f.Request(args))
	if err != nil {
		return nil, fmt.Errorf("the arguments cannot be sent: %w", err)
	}
	entries, err := mpack.Map(body)
	if err != nil {
		return nil, err
	}
	call, err := f.bind(entries)
	if err != nil {
		return nil, err
	}
	defer func() {
		if r := recover(); r != nil {
			result, err = nil, Errorf(timod.ExOperation, "function %s failed: %v", f.name, r)
		}
	}()
	if result, err = call(ctx, conf); err != nil {
		return nil, err
	}
	return Canonical(result)
}

// Canonical is value as a reply carries it and ThingsDB reads it: every
// integer an int64, every float a float64, lists []any, things
// map[string]any, pointers followed.
func Canonical(value any) (any, error) {
	data, err := msgpack.Marshal(value)
	if err != nil {
		return nil, fmt.Errorf("%#v cannot be sent: %w", value, err)
	}
	return mpack.Decode(data)
}

// Check compares what a call of the function's example number n (from 1)
// answered with the example, as CheckExample does; things show the
// arguments' keys first.
func (f Function[C]) Check(n int, e Example, result any, err error) string {
	var order []string
	for _, a := range f.Arguments() {
		order = append(order, a.Name)
	}
	return checkExample(f.name, n, e, result, err, append(order, "options"))
}

// CheckExample compares what a call of example number n (from 1) of
// function answered, result or err, with the example. It returns "" when
// they agree, else the difference as ThingsDB shows both sides:
//
//	upper example 2, upper(1): want type_err (-61): ...; got value_err (-60): ...
func CheckExample(function string, n int, e Example, result any, err error) string {
	return checkExample(function, n, e, result, err, nil)
}

func checkExample(function string, n int, e Example, result any, err error, order []string) string {
	want, problem := exampleWant(e, order)
	var got string
	var gotCode timod.Ex
	if err != nil {
		var me *Error
		if errors.As(err, &me) {
			gotCode = me.Code
		} else {
			gotCode = timod.ExOperation
		}
		_, msg := errorReply(err)
		got = fmt.Sprintf("%s (%d): %s", ErrorName(gotCode), gotCode, msg)
	} else {
		got = Value(result, order...)
	}
	agree := problem == ""
	if agree {
		if e.Err != "" {
			agree = err != nil && gotCode == ErrorCodes[e.Err]
			if agree {
				_, msg := errorReply(err)
				agree = msg == e.Message
			}
		} else {
			answer, _ := Canonical(e.Answer)
			agree = err == nil && reflect.DeepEqual(answer, result)
		}
	}
	if agree {
		return ""
	}
	if problem != "" {
		want = problem
	}
	return fmt.Sprintf("%s example %d, %s: want %s; got %s", function, n, CallText(function, e.Args, order...), want, got)
}

// ExampleWant is what example e wants as ThingsDB shows it, or a problem
// with the example itself.
func ExampleWant(e Example) (want, problem string) { return exampleWant(e, nil) }

func exampleWant(e Example, order []string) (want, problem string) {
	if e.Err != "" {
		code, ok := ErrorCodes[e.Err]
		if !ok {
			return "", fmt.Sprintf("an error named %q, which ThingsDB does not have", e.Err)
		}
		return fmt.Sprintf("%s (%d): %s", e.Err, code, e.Message), ""
	}
	answer, err := Canonical(e.Answer)
	if err != nil {
		return "", err.Error()
	}
	return Value(answer, order...), ""
}

// CallText is a call as ThingsDB code: upper('hello').
func CallText(function string, args []any, keyOrder ...string) string {
	items := make([]string, len(args))
	for i, arg := range args {
		if v, err := Canonical(arg); err == nil {
			arg = v
		}
		items[i] = Value(arg, keyOrder...)
	}
	return function + "(" + strings.Join(items, ", ") + ")"
}

// Value is value as ThingsDB code, as a user types it in a query
// (valuetext.Code): nil, true, 42, 1.5, 'text', bytes('...'), [1, 2],
// {key: 'value'}. The keys of a thing come in the order of keyOrder, the
// others sorted. A value that is not canonical, inside a list or a thing
// too, is written as Canonical makes it.
func Value(value any, keyOrder ...string) string {
	var b strings.Builder
	var canonical valuetext.Other
	canonical = func(b *strings.Builder, v any) {
		if c, err := Canonical(v); err == nil && reflect.TypeOf(c) != reflect.TypeOf(v) {
			valuetext.WriteCode(b, c, keyOrder, canonical)
			return
		}
		fmt.Fprint(b, v)
	}
	valuetext.WriteCode(&b, value, keyOrder, canonical)
	return b.String()
}
