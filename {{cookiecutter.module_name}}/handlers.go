package main

// The functions this module exposes, one handler each. module.json's
// "exposes" lists the same functions: every one sets the default argument
// "function" to its own name, which is how a request says which function
// was called, and "argmap" names the positional arguments.
//
// To add a function: add it to module.json's "exposes" (with
// "defaults": {"function": "<name>"}), write its handler here and add it to
// exposed below.

import (
	"context"
	"fmt"

	timod "github.com/thingsdb/go-timod"
)

// functionKey is the request key that names the called function; every
// exposed function sets it in its defaults in module.json.
const functionKey = {{ function_key | go_string }}

// HandlerFunc serves one exposed function. ctx lives as long as the module
// and is cancelled only as it exits; pass it on to calls that take one. conf
// is the configuration in force when the request arrived; args is the
// request. It returns the value to send back, or an error: a *ModuleError
// for a ThingsDB error of your choice (see Errorf), any other error becomes
// an operation error.
type HandlerFunc func(ctx context.Context, conf Config, args Args) (any, error)

// exposed lists the functions of module.json's "exposes" with their handlers.
var exposed = []struct {
	name    string
	handler HandlerFunc
}{
{%- for fn in cookiecutter.functions | function_names %}
	{name: {{ fn | go_string }}, handler: handle{{ fn | go_name }}},
{%- endfor %}
}

// Handlers returns the handler of every exposed function by its name.
func Handlers() map[string]HandlerFunc {
	handlers := make(map[string]HandlerFunc, len(exposed))
	for _, fn := range exposed {
		handlers[fn.name] = fn.handler
	}
	return handlers
}
{% for fn in cookiecutter.functions | function_names %}
// handle{{ fn | go_name }} serves {{ cookiecutter.module_name }}.{{ fn }}(value). It returns value
{%- if cookiecutter.needs_config %}, with the
// configured prefix in front when value is a string{% endif %}.
// Replace it with the function's real work.
func handle{{ fn | go_name }}(ctx context.Context, conf Config, args Args) (any, error) {
	value, err := args.Get("value")
	if err != nil {
		return nil, err
	}
	{%- if cookiecutter.needs_config %}
	return conf.WithPrefix(value), nil
	{%- else %}
	return value, nil
	{%- endif %}
}
{% endfor %}
// Args holds the arguments of a request: the function's defaults from
// module.json and the arguments named by its argmap.
type Args map[string]any

// Get returns the argument name, or a num_arguments error when the request
// lacks it. A call of an exposed function always sends its argmap names, nil
// for an argument the caller left out; a raw call, demo({...}), can lack one.
func (a Args) Get(name string) (any, error) {
	value, ok := a[name]
	if !ok {
		return nil, Errorf(timod.ExNumArguments, "missing argument %q", name)
	}
	return value, nil
}

// ModuleError is an error with a ThingsDB error code, sent back as is.
type ModuleError struct {
	Code timod.Ex
	Msg  string
}

// Error implements error.
func (e *ModuleError) Error() string {
	return fmt.Sprintf("%s (%d)", e.Msg, e.Code)
}

// Errorf returns a *ModuleError with code and a formatted message. Use the
// built-in codes (timod.ExLookupError, timod.ExValueError, ...) or the custom
// ones, timod.ExCustom100 to timod.ExCustom127.
func Errorf(code timod.Ex, format string, args ...any) *ModuleError {
	return &ModuleError{Code: code, Msg: fmt.Sprintf(format, args...)}
}
