{%- set handled = cookiecutter.functions | handled_signatures -%}
{%- import "go_code.jinja" as go -%}
{%- macro go_typed(a, v) -%}
{%- if v is none or a.type in ("list", "thing", "any") %}{{ go.go_value(v) }}
{%- elif a.type == "str" %}{{ v | go_string }}
{%- elif a.type == "bool" %}{{ "true" if v else "false" }}
{%- else %}{{ v }}
{%- endif -%}
{%- endmacro -%}
{#- The types whose nullable Go type is a pointer, and those that can be nil themselves. -#}
{%- set go_types = thingsdb_types | map(attribute="go_type") | list -%}
{%- set pointed = thingsdb_types | rejectattr("go_nullable_type", "in", go_types) | list -%}
{%- set nilable = thingsdb_types | selectattr("go_nullable_type", "in", go_types) | map(attribute="go_type") | list -%}
package main

// The functions this module exposes. Each one has a struct of its arguments,
// a handler that takes that struct, and a module.Func line with its examples
// in functions below. `go run ./tools/manifest sync` then writes its entry in
// module.json's "exposes" (the msgpack tags in order as "argmap", "*" for an
// Options field; the defaults) and its part of README.md. Closures exposed
// in module.json run in ThingsDB itself and have nothing here.
//
// {% filter replace("\n", " ") | wordwrap(74, break_long_words=false, wrapstring="\n// ") -%}
Argument types: {% for t in thingsdb_types %}{{ t.name }} {{ t.go_type }}{{ ", " if not loop.last }}{% endfor %}. An
optional argument is tagged ",optional"; a call that leaves it out gets its value from the
struct's Defaults method, and one whose default is null is a pointer ({{ pointed |
map(attribute="go_nullable_type") | join(", ") }}; {{ nilable[:-1] | join(", ") }} and {{ nilable[-1] }} can be
nil themselves). The arguments are checked against their types before a handler runs;
integers inside list, thing and any values are {{ thingsdb_types | selectattr("name", "eq", "int") | map(attribute="go_type") | first }}.
{%- endfilter %}
//
// A handler returns the value to send back, or an error: module.Errorf for a
// ThingsDB error of your choice, any other error becomes an operation error.
// ctx is cancelled as the module exits; conf is the configuration in force
// when the request arrived (config.go).

import (
{%- if handled %}
	"context"
{% endif %}
	"{{ cookiecutter.go_module_path }}/internal/module"
)

// functions lists the functions this module serves, each with its handler
// and examples: calls and what they answer (or the error they get). The
// tests call every example, and `go run ./tools/manifest sync` writes
// module.json's "exposes" and the functions in README.md from this list.
var functions = []module.Function[Config]{
{%- for fn in handled %}
	module.Func({{ fn.name | go_string }}, handle{{ fn.go_name }},
{{- go.examples(fn, "\t\t") }}
	),
{%- endfor %}
{%- if handled %}
{% endif %}}
{%- for fn in handled %}
{%- set optional = fn.arguments | selectattr("optional") | list %}

// {{ fn.go_name }}Args are the arguments of {{ fn.doc | go_comment }}.
{%- set fields = [] %}
{%- for a in fn.arguments %}{% set _ = fields.append([a.go_field, a.go_type, '`msgpack:"' ~ a.name ~ (",optional" if a.optional else "") ~ '"`']) %}{% endfor %}
{%- if fn.options %}{% set _ = fields.append(["Options", "map[string]any", '`msgpack:"*"`']) %}{% endif %}
{%- if fields %}
{%- set name_width = fields | map("first") | map("length") | max %}
{%- set type_width = fields | map(attribute=1) | map("length") | max %}
type {{ fn.go_name }}Args struct {
{%- for name, type, tag in fields %}
	{{ name }}{{ " " * (name_width - name | length + 1) }}{{ type }}{{ " " * (type_width - type | length + 1) }}{{ tag }}
{%- endfor %}
}
{%- else %}
type {{ fn.go_name }}Args struct{}
{%- endif %}
{%- if optional %}

// Defaults returns the values of the optional arguments a call leaves out
// (module.json's defaults of {{ fn.name }}).
func ({{ fn.go_name }}Args) Defaults() {{ fn.go_name }}Args {
	return {{ fn.go_name }}Args{
{%- set pairs = [] %}
{%- for a in optional %}{% set _ = pairs.append([a.go_field, go_typed(a, a.default)]) %}{% endfor %}
{{- go.keyed(pairs, "\t\t") }}
	}
}
{%- endif %}

// handle{{ fn.go_name }} serves {{ cookiecutter.module_name }}.{{ fn.doc | go_comment }}.
{%- if fn.bare %}
// It returns value{% if cookiecutter.needs_config %}, with the configured prefix in front when value is a
// string{% endif %}. Replace it with the function's real work.
func handle{{ fn.go_name }}(ctx context.Context, conf Config, args {{ fn.go_name }}Args) (any, error) {
{%- if cookiecutter.needs_config %}
	return conf.WithPrefix(args.Value), nil
{%- else %}
	return args.Value, nil
{%- endif %}
}
{%- else %}
// It returns the thing of its arguments. Replace it with the function's real
// work.
func handle{{ fn.go_name }}(ctx context.Context, conf Config, args {{ fn.go_name }}Args) (any, error) {
{%- set pairs = [] %}
{%- for a in fn.arguments %}{% set _ = pairs.append([a.name | go_string, "args." ~ a.go_field]) %}{% endfor %}
{%- if fn.options %}{% set _ = pairs.append(['"options"', "args.Options"]) %}{% endif %}
{%- if pairs %}
	return map[string]any{
{{- go.keyed(pairs, "\t\t") }}
	}, nil
{%- else %}
	return map[string]any{}, nil
{%- endif %}
}
{%- endif %}
{%- endfor %}
