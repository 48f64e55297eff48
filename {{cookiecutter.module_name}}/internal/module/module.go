// Package module runs a ThingsDB module: it answers the packages ThingsDB
// sends on stdin, checks each request's arguments against the function's
// arguments struct and calls its handler.
//
// A function is a handler that takes a struct of its arguments:
//
//	// AddArgs are the arguments of add(a: int, b: int = 1).
//	type AddArgs struct {
//		A int64 `msgpack:"a"`
//		B int64 `msgpack:"b,optional"`
//	}
//
//	// Defaults gives the optional arguments a call leaves out their values.
//	func (AddArgs) Defaults() AddArgs { return AddArgs{B: 1} }
//
//	func handleAdd(ctx context.Context, conf Config, args AddArgs) (any, error) {
//		return args.A + args.B, nil
//	}
//
// and module.Func("add", handleAdd) registers it. Each field is an argument,
// named by its msgpack tag, in module.json's argmap order. Its Go type gives
// its ThingsDB type: string (str), []byte (bytes), int64 (int), float64
// (float), bool (bool), []any (list), map[string]any (thing), any (any).
// Tagged ",optional" a call may leave the argument out; it then gets its
// value in the struct the Defaults method returns (the zero value without
// one). An optional argument whose default is null is nil: use *string,
// *int64, *float64 or *bool for those types. A map[string]any field tagged
// "*" gets the other properties of the request (argmap "*"), an empty map
// when there are none.
//
// Before the handler runs, every argument is checked in order, and the first
// problem is the reply, with ThingsDB's own wording: an argument left out or
// nil that is required (num_arguments_err), a value of another type or an
// explicit nil where the default is not null (type_err), an integer beyond
// int64 (overflow_err). An int argument takes every integer MessagePack
// carries that fits in an int64, a float argument takes integers too. Values
// inside list, thing and any arguments decode as package mpack describes:
// every integer an int64, every float a float64.
package module

import (
	"context"
	"fmt"
	"reflect"
	"sync/atomic"

	"{{ cookiecutter.go_module_path }}/internal/mpack"
)

// functionKey is the request key that names the called function; every
// exposed function sets it in its defaults in module.json.
const functionKey = {{ function_key | go_string }}

// Function is an exposed function with its handler, made by Func. C is the
// module's configuration type.
type Function[C any] struct {
	name string
	args *argsType
	err  error
	bind func(entries []mpack.Entry) (func(context.Context, C) (any, error), error)

	// examples are calls and their answers (examples.go).
	examples []Example

	// pace is how long its calls were seen to take (see Server).
	pace *atomic.Int32
}

// A function's pace counts its latest calls that took longer than
// quickHandler in a row, up to paceLong; or, below zero, it is slow: a call
// ran longer than slowHandler where it was read (see Server), and it counts
// its calls since up to zero, starting again at every long one. A call that
// took long because the module's thread was preempted or the module collected
// garbage meanwhile does not make a function long, nor slow for good.
const (
	paceLong int32 = 3     // runs in parallel while other requests wait to be read
	paceSlow int32 = -1024 // runs in a goroutine of its own
)

// Func returns the function name, served by handler. A is the struct of its
// arguments (see the package comment). ctx lives as long as the module and
// is cancelled only as it exits; conf is the configuration in force when the
// request arrived. The handler returns the value to send back, or an error:
// an *Error for a ThingsDB error of its choice (see Errorf), any other error
// becomes an operation error. A struct Func cannot use makes NewServer fail.
// The examples are calls of the function and their answers: the tests run
// them, and tools/manifest writes them into README.md.
func Func[C, A any](name string, handler func(ctx context.Context, conf C, args A) (any, error), examples ...Example) Function[C] {
	at, err := newArgsType(reflect.TypeFor[A]())
	if err != nil {
		return Function[C]{name: name, err: fmt.Errorf("function %s: %w", name, err), examples: examples}
	}
	return Function[C]{
		name:     name,
		args:     at,
		examples: examples,
		pace:     new(atomic.Int32),
		bind: func(entries []mpack.Entry) (func(context.Context, C) (any, error), error) {
			var args A
			if err := at.decode(name, entries, reflect.ValueOf(&args).Elem()); err != nil {
				return nil, err
			}
			return func(ctx context.Context, conf C) (any, error) {
				return handler(ctx, conf, args)
			}, nil
		},
	}
}

// Name returns the function's name.
func (f Function[C]) Name() string { return f.name }

// Err returns why Func cannot use the function's arguments struct, or nil.
func (f Function[C]) Err() error { return f.err }

// Arguments describes the function's arguments in order (nil when Err is
// not nil).
func (f Function[C]) Arguments() []Argument {
	if f.args == nil {
		return nil
	}
	return f.args.arguments()
}

// Options reports whether the function takes the other properties of a
// request (a field tagged "*": argmap "*").
func (f Function[C]) Options() bool {
	return f.args != nil && f.args.options >= 0
}
