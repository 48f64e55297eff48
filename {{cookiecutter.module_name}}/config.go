package main

{% if cookiecutter.needs_config -%}
// The module's configuration: the third argument of new_module(), sent again
// by set_module_conf(). ThingsDB sends it right after starting the module and
// whenever it changes; until then the module runs with DefaultConfig().

import (
	"sort"

	timod "github.com/thingsdb/go-timod"

	"{{ cookiecutter.go_module_path }}/internal/module"
)

// Config is the module's configuration.
type Config struct {
	// Prefix goes in front of every string value a function returns
	// (configuration key "prefix", default "").
	Prefix string
}

// DefaultConfig is the configuration in force until ThingsDB sends one.
func DefaultConfig() Config {
	return Config{Prefix: ""}
}

// ParseConfig checks a configuration as decoded from MessagePack (integers
// as int64, floats as float64, things as map[string]any): a thing
// (map) with only known keys, each of the right type. Keys left out keep
// their default.
func ParseConfig(value any) (Config, error) {
	m, ok := value.(map[string]any)
	if !ok {
		return Config{}, module.Errorf(timod.ExTypeError,
			"the configuration must be a thing (map) like {prefix: ''}, got %s", module.TypeName(value))
	}
	keys := make([]string, 0, len(m))
	for key := range m {
		keys = append(keys, key)
	}
	sort.Strings(keys) // the first problem reported does not depend on map order
	conf := DefaultConfig()
	for _, key := range keys {
		switch key {
		case "prefix":
			prefix, ok := m[key].(string)
			if !ok {
				return Config{}, module.Errorf(timod.ExTypeError,
					"configuration key `prefix` must be a str, got %s", module.TypeName(m[key]))
			}
			conf.Prefix = prefix
		default:
			return Config{}, module.Errorf(timod.ExValueError,
				"unknown configuration key %q; the only key is `prefix`", key)
		}
	}
	return conf, nil
}

// WithPrefix returns value with the configured prefix in front when value is
// a string and the prefix is not empty, and value unchanged otherwise.
func (c Config) WithPrefix(value any) any {
	if s, ok := value.(string); ok && c.Prefix != "" {
		return c.Prefix + s
	}
	return value
}
{%- else -%}
// This module takes no configuration: create it without the third argument
// of new_module(). A configuration sent anyway is refused.

import (
	timod "github.com/thingsdb/go-timod"

	"{{ cookiecutter.go_module_path }}/internal/module"
)

// Config is the module's configuration; this module has none.
type Config struct{}

// DefaultConfig is the configuration the module runs with.
func DefaultConfig() Config {
	return Config{}
}

// ParseConfig refuses every configuration: this module takes none.
func ParseConfig(value any) (Config, error) {
	return Config{}, module.Errorf(timod.ExValueError,
		"module %s takes no configuration (got %s); create it without one", moduleName, module.TypeName(value))
}
{%- endif %}
