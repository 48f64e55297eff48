package peer

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"sort"
)

// Manifest is what the peer reads of module.json.
type Manifest struct {
	Doc      string
	Defaults map[string]any      // the root's defaults, load and deep included
	Exposes  map[string]*Exposed // the exposed functions by name
}

// Exposed is one function of module.json's "exposes".
type Exposed struct {
	// Closure is the ThingsDB code of a function exposed as a closure, which
	// runs in ThingsDB itself; empty for a function of the module.
	Closure  string
	Doc      string
	Defaults map[string]any
	// Argmap names the positional arguments; nil when module.json gives
	// none, which ThingsDB takes as ["*"]: one thing, sent as it is. An
	// empty argmap is an empty, non-nil slice: no argument is sent.
	Argmap []string
}

// Functions returns the names of the exposed functions the module serves
// (the closures left out), sorted.
func (m *Manifest) Functions() []string {
	var names []string
	for name, f := range m.Exposes {
		if f.Closure == "" {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	return names
}

// reservedDefaults are the keys of defaults ThingsDB keeps for itself
// instead of sending them.
var reservedDefaults = map[string]bool{"load": true, "deep": true}

// LoadManifest reads dir/module.json. Numbers become int64 or float64 as
// they are written (1 or 1.0), as ThingsDB reads them.
func LoadManifest(dir string) (*Manifest, error) {
	path := filepath.Join(dir, "module.json")
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	v, err := ParseJSON(string(data))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	m, err := readManifest(v)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

func readManifest(v any) (*Manifest, error) {
	root, ok := v.(map[string]any)
	if !ok {
		return nil, errors.New("not a JSON object")
	}
	m := &Manifest{Exposes: map[string]*Exposed{}}
	var err error
	if m.Doc, err = optionalString(root, "doc", "doc"); err != nil {
		return nil, err
	}
	if m.Defaults, err = optionalThing(root, "defaults", "defaults"); err != nil {
		return nil, err
	}
	exposes, err := optionalThing(root, "exposes", "exposes")
	if err != nil {
		return nil, err
	}
	for name, spec := range exposes {
		where := "exposes." + name
		if closure, ok := spec.(string); ok {
			m.Exposes[name] = &Exposed{Closure: closure}
			continue
		}
		fields, ok := spec.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%s must be a closure (a string) or an object", where)
		}
		f := &Exposed{}
		if f.Doc, err = optionalString(fields, "doc", where+".doc"); err != nil {
			return nil, err
		}
		if f.Defaults, err = optionalThing(fields, "defaults", where+".defaults"); err != nil {
			return nil, err
		}
		if argmap, given := fields["argmap"]; given && argmap != nil {
			list, ok := argmap.([]any)
			if !ok {
				return nil, fmt.Errorf("%s.argmap must be a list of names", where)
			}
			f.Argmap = make([]string, len(list))
			for i, item := range list {
				if f.Argmap[i], ok = item.(string); !ok {
					return nil, fmt.Errorf("%s.argmap must be a list of names", where)
				}
			}
		}
		m.Exposes[name] = f
	}
	return m, nil
}

func optionalString(m map[string]any, key, where string) (string, error) {
	switch v := m[key].(type) {
	case nil:
		return "", nil
	case string:
		return v, nil
	}
	return "", fmt.Errorf("%s must be a string", where)
}

func optionalThing(m map[string]any, key, where string) (map[string]any, error) {
	switch v := m[key].(type) {
	case nil:
		return map[string]any{}, nil
	case map[string]any:
		return v, nil
	}
	return nil, fmt.Errorf("%s must be an object", where)
}

// BuildRequest returns the request thing ThingsDB sends for
// <module>.<function>(args...).
//
// As ThingsDB builds it: each argmap name takes its positional argument, or,
// when the call leaves it out, the default of that name, else nil (a
// left-out argument is sent, never missing). "*" takes an optional thing
// whose properties are added; without an argmap the one argument must be a
// thing, sent as it is. An argmap name load or deep sets ThingsDB's option of
// that name and is not sent. The defaults (the function's own, then the
// root's) then fill the keys still missing. Arguments beyond the argmap are
// not sent: ThingsDB passes them to the future's closure (ExtraArguments).
// Things nested deeper than the call's deep option (the function's default,
// the root's, or a deep in the "*" thing) plus one arrive empty, as ThingsDB
// packs them.
func BuildRequest(m *Manifest, function string, args []any) (map[string]any, error) {
	f, ok := m.Exposes[function]
	if !ok {
		return nil, fmt.Errorf("module.json exposes no function %s", pyRepr(function))
	}
	if f.Closure != "" {
		return nil, fmt.Errorf("%s is a ThingsDB closure; call it from ThingsDB", pyRepr(function))
	}
	defaults := map[string]any{}
	for _, layer := range []map[string]any{m.Defaults, f.Defaults} {
		for key, value := range layer {
			if !reservedDefaults[key] {
				defaults[key] = value
			}
		}
	}
	// The function's own deep, else the root's, else ThingsDB's default of 1.
	deep := 1
	if d, ok := deepOption(f.Defaults["deep"]); ok {
		deep = d
	} else if d, ok := deepOption(m.Defaults["deep"]); ok {
		deep = d
	}
	request := map[string]any{}
	if f.Argmap == nil {
		if len(args) > 0 {
			thing, ok := args[0].(map[string]any)
			if !ok {
				return nil, fmt.Errorf("the first argument of `%s` must be a thing", function)
			}
			for key, value := range thing {
				request[key] = value
			}
			deep = optionDeep(thing, deep)
		}
	} else {
		for i, name := range f.Argmap {
			given := i < len(args)
			switch name {
			case "*":
				if !given || args[i] == nil {
					continue
				}
				thing, ok := args[i].(map[string]any)
				if !ok {
					return nil, fmt.Errorf("the `*` argument of `%s` must be a thing or nil", function)
				}
				for key, value := range thing {
					request[key] = value
				}
				deep = optionDeep(thing, deep)
			case "deep":
				if given {
					if d, ok := deepOption(args[i]); ok {
						deep = d
					}
				}
			case "load":
			default:
				if given {
					request[name] = args[i]
				} else {
					request[name] = defaults[name]
				}
			}
		}
	}
	for key, value := range defaults {
		if _, ok := request[key]; !ok {
			request[key] = value
		}
	}
	// ThingsDB packs the request deep + 1 things deep, the request itself the first.
	return CutToDepth(request, deep+1).(map[string]any), nil
}

// optionDeep returns the deep a call's thing of options sets, else deep.
func optionDeep(options map[string]any, deep int) int {
	if d, ok := deepOption(options["deep"]); ok {
		return d
	}
	return deep
}

// deepOption returns v as a deep option: an integer from 0 to 127.
func deepOption(v any) (int, bool) {
	r := reflect.ValueOf(v)
	var n int64
	switch r.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n = r.Int()
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if r.Uint() > math.MaxInt64 {
			return 0, false
		}
		n = int64(r.Uint())
	default:
		return 0, false
	}
	if n < 0 || n > 127 {
		return 0, false
	}
	return int(n), true
}

// ExtraArguments returns the arguments of a call that ThingsDB does not send
// to the module but passes to the future's closure: those beyond the argmap.
func ExtraArguments(m *Manifest, function string, args []any) []any {
	f, ok := m.Exposes[function]
	if !ok {
		return nil
	}
	n := len(f.Argmap)
	if f.Argmap == nil {
		n = 1
	}
	if len(args) <= n {
		return nil
	}
	return args[n:]
}

// CutToDepth returns value as ThingsDB packs it levels things deep: deeper
// things arrive empty. Lists do not count as a level. (A stored thing also
// carries its id as "#", which a value given here cannot have.) The result
// shares no map or list with value.
func CutToDepth(value any, levels int) any {
	switch v := value.(type) {
	case map[string]any:
		cut := make(map[string]any, len(v))
		if levels <= 0 {
			return cut
		}
		for key, item := range v {
			cut[key] = CutToDepth(item, levels-1)
		}
		return cut
	case []any:
		cut := make([]any, len(v))
		for i, item := range v {
			cut[i] = CutToDepth(item, levels)
		}
		return cut
	}
	return value
}
