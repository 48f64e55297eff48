{%- import "go_code.jinja" as go -%}
{#- The types whose nullable Go type is a pointer: the others can be nil themselves. -#}
{%- set pointed = thingsdb_types | rejectattr("go_nullable_type", "in", thingsdb_types | map(attribute="go_type") | list) | list -%}
package module

import (
	"errors"
	"fmt"
	"reflect"
	"strings"

	timod "github.com/thingsdb/go-timod"

	"{{ cookiecutter.go_module_path }}/internal/mpack"
)

// kind is the ThingsDB type of an argument.
type kind int

const (
{%- for t in thingsdb_types %}
	kind{{ t.name | go_name }}{% if loop.first %} kind = iota{% endif %}
{%- endfor %}
)

var kindNames = [...]string{ {{- thingsdb_types | map(attribute="name") | map("go_string") | join(", ") -}} }

func (k kind) String() string { return kindNames[k] }

// fieldKinds maps the Go type of an argument field to its ThingsDB type;
// pointers let an optional argument whose default is null be nil.
var fieldKinds = map[reflect.Type]kind{
{%- set pairs = [] %}
{%- for t in thingsdb_types %}
{%- for go_type in [t.go_type, t.go_nullable_type] | unique %}
{%- set _ = pairs.append(["reflect.TypeFor[" ~ go_type ~ "]()", "kind" ~ t.name | go_name]) %}
{%- endfor %}
{%- endfor %}
{{- go.keyed(pairs, "\t") }}
}

// field is one argument of a function: a field of its arguments struct.
type field struct {
	name        string // the argmap name, from the msgpack tag
	index       int    // in the struct
	kind        kind
	ptr         bool // a {{ (pointed | map(attribute="go_nullable_type") | list)[:-1] | join(", ") }} or {{ pointed[-1].go_nullable_type }}
	optional    bool // tagged ",optional": a call may leave it out
	nullDefault bool // optional, and its default is nil
}

// argsType is how requests decode into one arguments struct.
type argsType struct {
	typ      reflect.Type
	fields   []field
	byName   map[string]int // argmap name -> position in fields
	options  int            // index of the Options field (tag "*"), -1 if none
	defaults func() reflect.Value
}

// Argument describes one argument of a function, for checks that compare
// the functions with module.json.
type Argument struct {
	Name     string // the argmap name
	Type     string // the ThingsDB type: {{ thingsdb_types | map(attribute="name") | join(", ") }}
	Optional bool
	Default  any // the value a call that leaves it out gets (nil for a required one)
}

// newArgsType reads the msgpack tags of the arguments struct t.
func newArgsType(t reflect.Type) (*argsType, error) {
	if t.Kind() != reflect.Struct {
		return nil, fmt.Errorf("the arguments must be a struct, not %s", t)
	}
	at := &argsType{typ: t, byName: map[string]int{}, options: -1}
	at.defaults = defaultsOf(t)
	defaults := at.defaults()
	for i := range t.NumField() {
		sf := t.Field(i)
		tag, ok := sf.Tag.Lookup("msgpack")
		if !ok || !sf.IsExported() {
			return nil, fmt.Errorf("%s.%s: every field is an argument: exported, with a msgpack tag", t.Name(), sf.Name)
		}
		name, flags, _ := strings.Cut(tag, ",")
		if name == "*" {
			if sf.Type != reflect.TypeFor[map[string]any]() || flags != "" || at.options >= 0 {
				return nil, fmt.Errorf("%s.%s: the field tagged `msgpack:\"*\"` is one map[string]any", t.Name(), sf.Name)
			}
			at.options = i
			continue
		}
		k, ok := fieldKinds[sf.Type]
		_, twice := at.byName[name]
		switch {
		case name == "" || name == "-":
			return nil, fmt.Errorf("%s.%s: the msgpack tag names the argument", t.Name(), sf.Name)
		case !ok:
			return nil, fmt.Errorf("%s.%s: type %s is not an argument type "+
{%- set plain = pointed | map(attribute="go_type") | list %}
				{{ ("(" ~ thingsdb_types | map(attribute="go_type") | join(", ") ~ ", or a pointer to " ~ plain[:-1] | join(", ") ~ " or " ~ plain[-1] ~ ")") | go_string }},
				t.Name(), sf.Name, sf.Type)
		case flags != "" && flags != "optional":
			return nil, fmt.Errorf("%s.%s: unknown tag option %q (only \"optional\")", t.Name(), sf.Name, flags)
		case twice:
			return nil, fmt.Errorf("%s.%s: argument %q is named twice", t.Name(), sf.Name, name)
		}
		f := field{name: name, index: i, kind: k, ptr: sf.Type.Kind() == reflect.Pointer, optional: flags == "optional"}
		if f.optional {
			f.nullDefault = isNil(defaults.Field(i))
		} else if len(at.fields) > 0 && at.fields[len(at.fields)-1].optional {
			return nil, fmt.Errorf("%s.%s: required argument %q follows an optional one", t.Name(), sf.Name, name)
		}
		at.byName[name] = len(at.fields)
		at.fields = append(at.fields, f)
	}
	return at, nil
}

// defaultsOf returns a function giving a fresh value of t with the defaults
// of its optional arguments: what its Defaults method returns, or the zero
// value when it has none.
func defaultsOf(t reflect.Type) func() reflect.Value {
	for _, recv := range []reflect.Type{t, reflect.PointerTo(t)} {
		m, ok := recv.MethodByName("Defaults")
		if ok && m.Type.NumIn() == 1 && m.Type.NumOut() == 1 && m.Type.Out(0) == t {
			return func() reflect.Value {
				receiver := reflect.New(t)
				if recv == t {
					receiver = receiver.Elem()
				}
				return m.Func.Call([]reflect.Value{receiver})[0]
			}
		}
	}
	return func() reflect.Value { return reflect.New(t).Elem() }
}

func isNil(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Pointer, reflect.Slice, reflect.Map, reflect.Interface:
		return v.IsNil()
	}
	return false
}

// arguments describes the fields, for Function.Arguments.
func (at *argsType) arguments() []Argument {
	defaults := at.defaults()
	args := make([]Argument, len(at.fields))
	for i, f := range at.fields {
		args[i] = Argument{Name: f.name, Type: f.kind.String(), Optional: f.optional}
		if f.optional && !f.nullDefault {
			d := defaults.Field(f.index)
			if f.ptr {
				d = d.Elem()
			}
			args[i].Default = d.Interface()
		}
	}
	return args
}

// decode checks the entries of a request against the arguments and sets
// them in dst, a value of the arguments struct. The first problem, in the
// order of the fields, is the error; entries that are no argument go into
// the Options field, or are ignored without one.
func (at *argsType) decode(function string, entries []mpack.Entry, dst reflect.Value) error {
	var small [8][]byte
	values := small[:0]
	if len(at.fields) > len(small) {
		values = make([][]byte, 0, len(at.fields))
	}
	values = values[:len(at.fields)]
	var options map[string]any
	if at.options >= 0 {
		options = map[string]any{}
	}
	for _, e := range entries {
		if i, ok := at.byName[e.Key]; ok {
			if values[i] == nil {
				values[i] = e.Value
			}
			continue
		}
		if options == nil || e.Key == functionKey {
			continue
		}
		v, err := mpack.Decode(e.Value)
		if err != nil {
			return Errorf(timod.ExBadData, "the request is not valid MessagePack: %v", err)
		}
		options[e.Key] = v
	}
	var defaults reflect.Value
	for i, f := range at.fields {
		raw := values[i]
		switch {
		case raw == nil && f.optional:
			if !defaults.IsValid() {
				defaults = at.defaults()
			}
			dst.Field(f.index).Set(defaults.Field(f.index))
			continue
		case raw == nil:
			return missing(function, f)
		case mpack.IsNil(raw):
			switch {
			case f.kind == kindAny || f.nullDefault:
				continue // the zero value of the field is nil
			case !f.optional:
				return missing(function, f)
			}
			return wrongType(function, f, raw)
		}
		if err := f.set(function, dst.Field(f.index), raw); err != nil {
			return err
		}
	}
	if options != nil {
		dst.Field(at.options).Set(reflect.ValueOf(options))
	}
	return nil
}

// set decodes raw, which is not nil, into the field v.
func (f field) set(function string, v reflect.Value, raw []byte) error {
	var value reflect.Value
	switch f.kind {
	case kindStr:
		s, ok := mpack.String(raw)
		if !ok {
			return wrongType(function, f, raw)
		}
		value = reflect.ValueOf(s)
	case kindInt:
		n, ok, overflow := mpack.Int(raw)
		switch {
		case overflow:
			return Errorf(timod.ExOverflow, overflowError, function, f.name)
		case !ok:
			return wrongType(function, f, raw)
		}
		value = reflect.ValueOf(n)
	case kindFloat:
		x, ok := mpack.Float(raw)
		if !ok {
			return wrongType(function, f, raw)
		}
		value = reflect.ValueOf(x)
	case kindBool:
		b, ok := mpack.Bool(raw)
		if !ok {
			return wrongType(function, f, raw)
		}
		value = reflect.ValueOf(b)
	case kindBytes:
		b, ok := mpack.Bytes(raw)
		if !ok {
			return wrongType(function, f, raw)
		}
		v.SetBytes(b)
		return nil
	default: // list, thing, any
		if f.kind != kindAny && mpack.TypeName(raw) != f.kind.String() {
			return wrongType(function, f, raw)
		}
		decoded, err := mpack.Decode(raw)
		if err != nil {
			return Errorf(timod.ExBadData, "the request is not valid MessagePack: %v", err)
		}
		if _, ok := decoded.(map[any]any); ok && f.kind == kindThing {
			return Errorf(timod.ExTypeError, keyError) // from Function.Call; the wire has checked
		}
		if decoded != nil {
			v.Set(reflect.ValueOf(decoded))
		}
		return nil
	}
	if f.ptr {
		p := reflect.New(value.Type())
		p.Elem().Set(value)
		value = p
	}
	v.Set(value)
	return nil
}

// The argument checks' errors, worded as ThingsDB words its own (the Python
// flavour's are the same). Arguments: function, argument, expected and
// received type; keyError has none.
const (
	typeError     = {{ argument_errors.type | go_format }}
	missingError  = {{ argument_errors.missing | go_format }}
	overflowError = {{ argument_errors.overflow | go_format }}
	keyError      = {{ argument_errors.key | go_format }}
)

// checkBody checks the body of a request or a configuration (what) as a
// whole, as ThingsDB checks a value it reads: bad_data for one that is not
// valid MessagePack, else type_err for a map key that is not a str anywhere
// in it (ThingsDB's things have str keys only).
func checkBody(what string, body []byte) error {
	switch err := mpack.CheckStrKeys(body, mpack.MaxNesting); {
	case errors.Is(err, mpack.ErrKeyNotStr):
		return Errorf(timod.ExTypeError, keyError)
	case err != nil:
		return Errorf(timod.ExBadData, "the %s is not valid MessagePack: %v", what, err)
	}
	return nil
}

// missing is the num_arguments error for a required argument a request left
// out or sent as nil.
func missing(function string, f field) error {
	return Errorf(timod.ExNumArguments, missingError, function, f.name, f.kind)
}

// wrongType is the type error for an argument of another type.
func wrongType(function string, f field, raw []byte) error {
	return Errorf(timod.ExTypeError, typeError, function, f.name, f.kind, mpack.TypeName(raw))
}
