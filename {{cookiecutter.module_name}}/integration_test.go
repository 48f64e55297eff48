{%- set prefixes = cookiecutter.needs_config and cookiecutter.functions | handled_signatures | selectattr("bare") | list -%}
//go:build integration

package main

// The module installed in a real ThingsDB node and called through it, as
// users call it. This file is yours. The build tag keeps it out of the plain
// `go test ./...`: run it on purpose against a node, e.g. the one the
// `docker run` line in README.md starts:
//
//	TIMOD_ADDRESS=127.0.0.1:9200 TIMOD_SOURCE=github.com/{{ cookiecutter.github_owner }}/{{ cookiecutter.repo_name }}@$(git rev-parse HEAD) go test -tags integration -run InThingsDB -v .
//
// Settings (environment variables):
//
//   - TIMOD_ADDRESS: the node's client port, host:port.
//   - TIMOD_SOURCE: where the node installs the module from, as new_module
//     takes it: github.com/OWNER/REPO[:TOKEN]@REF (a tag, a branch or a
//     commit pushed to GitHub, with bin/ built for it; the token for a
//     private repository, or to lift GitHub's limit on anonymous requests).
//   - TIMOD_USER, TIMOD_PASSWORD: a user that may change modules; default
//     admin / pass, the user of a node started with --init.
//   - TIMOD_SCOPE: the collection the functions are called in; default @:stuff.
//
// Each run installs the module under a name of its own (new_module) and
// removes it afterwards (del_module), so the node may hold other modules,
// this one's released version included. The calls and their answers are the
// examples in handlers.go: adding a function needs no change here.
// Closures in module.json's exposes run in ThingsDB and are not called.

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net"
	"os"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	thingsdb "github.com/thingsdb/go-thingsdb"
	timod "github.com/thingsdb/go-timod"

	"{{ cookiecutter.go_module_path }}/internal/module"
)

const (
	nodeConnectTimeout   = time.Minute // a node that is still starting
	moduleInstallTimeout = 5 * time.Minute
	moduleStatusTimeout  = time.Minute
	nodeQueryTimeout     = 2 * time.Minute
	// How deep answers return: the tables' nested things arrive whole.
	answerDeep = 10
	// ThingsDB code: the module's answer is the query's.
	thenReply                = ".then(|reply| {reply})"
	configurationErrorStatus = "configuration error; use `set_module_conf(..)` to update the module configuration"
)

// While installing or starting these come and go; another status is an
// answer (an error).
var passingModuleStatuses = map[string]bool{
	"installing module...": true,
	"module not loaded":    true,
	"stopping module...":   true,
	"running":              true,
}
{%- if cookiecutter.needs_config %}

// The configuration new_module gives: one under which the examples in
// handlers.go hold. Then one the module accepts, and one it refuses.
var (
	installConfiguration = map[string]any{"prefix": ""}
	goodConfiguration    = map[string]any{"prefix": "> "}
	badConfiguration     = map[string]any{"prefix": int64(1)}
)
{%- endif %}

func TestInThingsDB(t *testing.T) {
	settings := readIntegrationSettings(t)
	conn := connectThingsDB(t, settings)
	m := installModule(t, conn, settings)

	t.Run("installed-module-is-this-checkout", func(t *testing.T) {
		info := m.info(t)
		local := readIntegrationManifest(t)
		if fmt.Sprint(info["version"]) != fmt.Sprint(local.Version) {
			t.Fatalf("%s is version %v, module.json here says %v: point TIMOD_SOURCE at this commit",
				hiddenToken(m.source), info["version"], local.Version)
		}
		installed, here := exposedNames(info["exposes"]), sortedNames(local.Exposes)
		if !reflect.DeepEqual(installed, here) {
			t.Errorf("the installed module exposes %v, module.json here %v", installed, here)
		}
	})

	t.Run("examples", func(t *testing.T) {
		for _, f := range functions {
			for i, e := range f.Examples() {
				t.Run(fmt.Sprintf("%s/%d", f.Name(), i+1), func(t *testing.T) {
					got, err := m.call(f.Name(), e.Args)
					var tiErr *thingsdb.TiError
					if errors.As(err, &tiErr) {
						err = &module.Error{Code: timod.Ex(tiErr.Code()), Msg: tiErr.Error()}
					} else if err == nil {
						got, err = module.Canonical(canonicalValue(got))
					}
					if problem := f.Check(i+1, e, got, err); problem != "" {
						t.Error(problem)
					}
				})
			}
		}
	})

	// Last: these change the installed module's state, then restore it.
{%- if cookiecutter.needs_config %}
	t.Run("configuration-accepted-and-applied", func(t *testing.T) {
		m.setConf(t, goodConfiguration)
		m.waitStatus(t, "running", moduleStatusTimeout, true)
		m.waitConfigured(t)
{%- if prefixes %}
		got, err := m.call(prefixed, []any{"x"})
		want := goodConfiguration["prefix"].(string) + "x"
		if err != nil || got != want {
			t.Errorf("%s with prefix %q: got %s, %v; want %q",
				callCode(prefixed, []any{"x"}), goodConfiguration["prefix"], thingsDBCode(got), err, want)
		}
{%- endif %}
		m.setConf(t, installConfiguration)
		m.waitConfigured(t)
	})

	t.Run("bad-configuration-refused", func(t *testing.T) {
		m.setConf(t, badConfiguration)
		m.waitStatus(t, configurationErrorStatus, moduleStatusTimeout, true)
		m.wantRefusing(t) // no requests until a good configuration
		m.setConf(t, installConfiguration)
		m.waitStatus(t, "running", moduleStatusTimeout, false)
		m.waitConfigured(t)
	})
{%- else %}
	t.Run("configuration-refused", func(t *testing.T) {
		m.setConf(t, map[string]any{"prefix": "> "})
		m.waitStatus(t, configurationErrorStatus, moduleStatusTimeout, true)
		m.wantRefusing(t) // no requests while it has a configuration error
		// Without the configuration, restart_module (in @node) starts it again.
		m.setConf(t, nil)
		m.query(t, "@node", "restart_module(name);", map[string]any{"name": m.name})
		m.waitStatus(t, "running", moduleStatusTimeout, false)
		m.waitConfigured(t)
	})
{%- endif %}
}

func TestInThingsDBEveryExposedFunctionIsCalled(t *testing.T) {
	called := map[string]bool{}
	for _, f := range functions {
		called[f.Name()] = len(f.Examples()) > 0
	}
	for name, raw := range readIntegrationManifest(t).Exposes {
		var closure string
		if json.Unmarshal(raw, &closure) == nil {
			continue // runs in ThingsDB itself
		}
		if !called[name] {
			t.Errorf("%s is never called: give it examples in handlers.go", name)
		}
	}
}

// integrationSettings are the TIMOD_* environment variables.
type integrationSettings struct {
	address, source, user, password, scope string
}

func readIntegrationSettings(t *testing.T) integrationSettings {
	t.Helper()
	s := integrationSettings{
		address:  os.Getenv("TIMOD_ADDRESS"),
		source:   os.Getenv("TIMOD_SOURCE"),
		user:     settingOr("TIMOD_USER", "admin"),
		password: settingOr("TIMOD_PASSWORD", "pass"),
		scope:    settingOr("TIMOD_SCOPE", "@:stuff"),
	}
	var missing []string
	if s.address == "" {
		missing = append(missing, "TIMOD_ADDRESS=host:port")
	}
	if s.source == "" {
		missing = append(missing, "TIMOD_SOURCE=github.com/OWNER/REPO[:TOKEN]@REF")
	}
	if len(missing) > 0 {
		message := fmt.Sprintf("set %s (and TIMOD_USER, TIMOD_PASSWORD unless admin/pass) to run these tests in ThingsDB",
			strings.Join(missing, " and "))
		if os.Getenv("CI") == "true" { // in CI a skip would pass unnoticed
			t.Fatal(message)
		}
		t.Skip(message)
	}
	return s
}

func settingOr(name, otherwise string) string {
	if value := os.Getenv(name); value != "" {
		return value
	}
	return otherwise
}

// connectThingsDB logs in, waiting for a node that is still starting; the
// connection closes when the test ends.
func connectThingsDB(t *testing.T, s integrationSettings) *thingsdb.Conn {
	t.Helper()
	host, portText, err := net.SplitHostPort(s.address)
	port, portErr := strconv.ParseUint(portText, 10, 16)
	if err != nil || portErr != nil || host == "" {
		t.Fatalf("TIMOD_ADDRESS=%q is not host:port", s.address)
	}
	deadline := time.Now().Add(nodeConnectTimeout)
	for {
		conn := thingsdb.NewConn(host, uint16(port), nil)
		// A failure is the test's answer: no reconnecting, no retried queries.
		conn.AutoReconnect = false
		conn.PingInterval = 0
		conn.DefaultTimeout = nodeQueryTimeout
		conn.LogLevel = thingsdb.LogError
		err := conn.Connect()
		if err == nil {
			if err = conn.AuthPassword(s.user, s.password); err == nil {
				t.Cleanup(conn.Close)
				return conn
			}
			conn.Close()
			var tiErr *thingsdb.TiError
			if errors.As(err, &tiErr) && tiErr.Code() == thingsdb.AuthError {
				t.Fatalf("user %q cannot log in to %s: %v", s.user, s.address, err)
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no ThingsDB node answers at %s: %v", s.address, err)
		}
		time.Sleep(time.Second)
	}
}

// installedModule is the module as installed for this run: its name, and
// calls through ThingsDB.
type installedModule struct {
	conn                *thingsdb.Conn
	name, source, scope string
}

// installModule installs the module from TIMOD_SOURCE under a name of its
// own, waits until it runs, and removes it when the test ends.
func installModule(t *testing.T, conn *thingsdb.Conn, s integrationSettings) *installedModule {
	t.Helper()
	random := make([]byte, 6)
	if _, err := rand.Read(random); err != nil {
		t.Fatal(err)
	}
	m := &installedModule{conn: conn, name: "test_" + hex.EncodeToString(random), source: s.source, scope: s.scope}
	t.Cleanup(func() {
		if _, err := conn.Query("@thingsdb", "del_module(name);", map[string]any{"name": m.name}); err != nil {
			t.Logf("del_module(%q): %s", m.name, describeError(err))
		}
	})
{%- if cookiecutter.needs_config %}
	m.query(t, "@thingsdb", "new_module(name, source, conf);",
		map[string]any{"name": m.name, "source": m.source, "conf": installConfiguration})
{%- else %}
	m.query(t, "@thingsdb", "new_module(name, source);", map[string]any{"name": m.name, "source": m.source})
{%- endif %}
	m.waitStatus(t, "running", moduleInstallTimeout, true)
	m.waitConfigured(t)
	return m
}

// query fails the test on an error.
func (m *installedModule) query(t *testing.T, scope, code string, vars map[string]any) any {
	t.Helper()
	value, err := m.conn.Query(scope, code, vars)
	if err != nil {
		t.Fatalf("%s in %s: %s", code, scope, describeError(err))
	}
	return value
}

func (m *installedModule) info(t *testing.T) map[string]any {
	t.Helper()
	info, ok := canonicalValue(m.query(t, "@thingsdb", "module_info(name);", map[string]any{"name": m.name})).(map[string]any)
	if !ok {
		t.Fatalf("module_info(%q) is not a thing", m.name)
	}
	return info
}

// waitStatus returns module_info once the status is wanted; when strict,
// another final status fails the test at once.
func (m *installedModule) waitStatus(t *testing.T, wanted string, timeout time.Duration, strict bool) map[string]any {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		info := m.info(t)
		status, _ := info["status"].(string)
		if status == wanted {
			return info
		}
		if (strict && !passingModuleStatuses[status]) || time.Now().After(deadline) {
			t.Fatalf("module %s from %s is %q, not %q; module_info: %s",
				m.name, hiddenToken(m.source), status, wanted, hiddenToken(thingsDBCode(info)))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// call calls function with positional arguments, as ThingsDB code does.
func (m *installedModule) call(function string, args []any) (any, error) {
	names := make([]string, len(args))
	vars := make(map[string]any, len(args))
	for i, arg := range args {
		names[i] = fmt.Sprintf("a%d", i)
		vars[names[i]] = arg
	}
	code := fmt.Sprintf("return %s.%s(%s)%s, %d;", m.name, function, strings.Join(names, ", "), thenReply, answerDeep)
	return m.conn.Query(m.scope, code, vars)
}

// wantError fails the test unless the call is refused with code and message.
func (m *installedModule) wantError(t *testing.T, function string, args []any, code thingsdb.ErrorCode, message string) {
	t.Helper()
	got, err := m.call(function, args)
	var tiErr *thingsdb.TiError
	if !errors.As(err, &tiErr) {
		t.Fatalf("%s: got %s, %v; want error %d: %s", callCode(function, args), thingsDBCode(got), err, code, message)
	}
	if tiErr.Code() != code || tiErr.Error() != message {
		t.Errorf("%s:\n got  error %d: %s\n want error %d: %s",
			callCode(function, args), tiErr.Code(), tiErr.Error(), code, message)
	}
}

// probe is the error code of a raw call naming no function; answered when the
// module answers it.
func (m *installedModule) probe(t *testing.T) (code thingsdb.ErrorCode, answered bool) {
	t.Helper()
	_, err := m.conn.Query(m.scope, m.name+"({})"+thenReply+";", nil)
	if err == nil {
		return 0, true
	}
	var tiErr *thingsdb.TiError
	if !errors.As(err, &tiErr) {
		t.Fatalf("calling module %s: %v", m.name, err)
	}
	return tiErr.Code(), false
}

// wantRefusing fails the test unless ThingsDB refuses requests to the module.
func (m *installedModule) wantRefusing(t *testing.T) {
	t.Helper()
	if code, answered := m.probe(t); answered || code != thingsdb.OperationError {
		t.Errorf("a call of module %s got error %d (answered: %v), want an operation error (%d)",
			m.name, code, answered, thingsdb.OperationError)
	}
}

// waitConfigured waits while ThingsDB refuses calls with an operation error:
// it does until the module has taken its configuration.
func (m *installedModule) waitConfigured(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(moduleStatusTimeout)
	for {
		if code, answered := m.probe(t); answered || code != thingsdb.OperationError {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("module %s still refuses calls (operation error)", m.name)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func (m *installedModule) setConf(t *testing.T, conf any) {
	t.Helper()
	m.query(t, "@thingsdb", "set_module_conf(name, conf);", map[string]any{"name": m.name, "conf": conf})
}

// integrationManifest is what these tests read of module.json.
type integrationManifest struct {
	Version any                        `json:"version"`
	Exposes map[string]json.RawMessage `json:"exposes"`
}

func readIntegrationManifest(t *testing.T) integrationManifest {
	t.Helper()
	data, err := os.ReadFile("module.json")
	if err != nil {
		t.Fatal(err)
	}
	var m integrationManifest
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("module.json: %v", err)
	}
	return m
}

// exposedNames are the function names of module_info's exposes.
func exposedNames(exposes any) []string {
	names := []string{}
	switch e := exposes.(type) {
	case map[string]any:
		names = sortedNames(e)
	case []any:
		for _, name := range e {
			names = append(names, fmt.Sprint(name))
		}
		sort.Strings(names)
	}
	return names
}

func sortedNames[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for key := range m {
		keys = append(keys, key)
	}
	sort.Strings(keys)
	return keys
}

// canonicalValue makes a value comparable with reflect.DeepEqual: integers as
// int64, floats as float64, lists as []any, things as map[string]any (never
// nil). The client decodes an integer into the smallest type that holds it.
func canonicalValue(value any) any {
	v := reflect.ValueOf(value)
	switch v.Kind() {
	case reflect.Invalid:
		return nil
	case reflect.Bool:
		return v.Bool()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return v.Int()
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		if v.Uint() <= math.MaxInt64 {
			return int64(v.Uint())
		}
		return v.Uint()
	case reflect.Float32, reflect.Float64:
		return v.Float()
	case reflect.String:
		return v.String()
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil
		}
		return canonicalValue(v.Elem().Interface())
	case reflect.Slice, reflect.Array:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			raw := make([]byte, v.Len())
			reflect.Copy(reflect.ValueOf(raw), v)
			return raw
		}
		list := make([]any, v.Len())
		for i := range list {
			list[i] = canonicalValue(v.Index(i).Interface())
		}
		return list
	case reflect.Map:
		thing := make(map[string]any, v.Len())
		for it := v.MapRange(); it.Next(); {
			thing[fmt.Sprint(it.Key().Interface())] = canonicalValue(it.Value().Interface())
		}
		return thing
	}
	return value
}

// thingsDBCode writes a value as ThingsDB code writes it, so that a float 2.0
// and an int 2 read apart in failures.
func thingsDBCode(value any) string {
	switch v := canonicalValue(value).(type) {
	case nil:
		return "nil"
	case int64:
		return strconv.FormatInt(v, 10)
	case float64:
		text := strconv.FormatFloat(v, 'g', -1, 64)
		if !strings.ContainsAny(text, ".eIN") {
			text += ".0"
		}
		return text
	case string:
		return strconv.Quote(v)
	case []byte:
		return "bytes(" + strconv.Quote(string(v)) + ")"
	case []any:
		items := make([]string, len(v))
		for i, item := range v {
			items[i] = thingsDBCode(item)
		}
		return "[" + strings.Join(items, ", ") + "]"
	case map[string]any:
		items := make([]string, 0, len(v))
		for _, key := range sortedNames(v) {
			items = append(items, strconv.Quote(key)+": "+thingsDBCode(v[key]))
		}
		return "{" + strings.Join(items, ", ") + "}"
	default:
		return fmt.Sprint(v)
	}
}

// callCode is a call as ThingsDB code, for failure messages.
func callCode(function string, args []any) string {
	items := make([]string, len(args))
	for i, arg := range args {
		items[i] = thingsDBCode(arg)
	}
	return function + "(" + strings.Join(items, ", ") + ")"
}

func describeError(err error) string {
	var tiErr *thingsdb.TiError
	if errors.As(err, &tiErr) {
		return fmt.Sprintf("ThingsDB error %d: %s", tiErr.Code(), tiErr.Error())
	}
	return err.Error()
}

// hiddenToken is a text as failure messages show it: a source's token hidden.
func hiddenToken(text string) string {
	return sourceToken.ReplaceAllString(text, ":***@")
}

var sourceToken = regexp.MustCompile(`:[^@/"\s]+@`)
