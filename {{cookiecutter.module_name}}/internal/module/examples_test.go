package module

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
)

type upperArgs struct {
	Text    string         `msgpack:"text"`
	Sep     string         `msgpack:"sep,optional"`
	Options map[string]any `msgpack:"*"`
}

func (upperArgs) Defaults() upperArgs { return upperArgs{Sep: "-"} }

func handleUpper(ctx context.Context, conf testConf, args upperArgs) (any, error) {
	return strings.ToUpper(strings.ReplaceAll(args.Text, args.Sep, " ")), nil
}

var upper = Func("upper", handleUpper,
	Example{Args: []any{"a-b"}, Answer: "A B"},
	Example{Args: []any{"a+b", "+", map[string]any{"x": int64(1)}}, Answer: "A B"},
	Example{Args: []any{int64(1)}, Err: "type_err",
		Message: "function `upper` expects argument `text` to be of type `str` but got type `int` instead"},
)

func TestExamplesRunThroughTheArgumentChecks(t *testing.T) {
	for i, e := range upper.Examples() {
		got, err := upper.Call(context.Background(), testConf{}, e.Args)
		if problem := upper.Check(i+1, e, got, err); problem != "" {
			t.Error(problem)
		}
	}
}

func TestFailingExampleShowsBothSidesAsThingsDBDoes(t *testing.T) {
	cases := []struct {
		e    Example
		want string
	}{
		{Example{Args: []any{"a-b"}, Answer: "a b"}, "upper example 1, upper('a-b'): want 'a b'; got 'A B'"},
		{Example{Args: []any{int64(1)}, Answer: "1"},
			"upper example 1, upper(1): want '1'; got type_err (-61): function `upper` expects argument `text` to be of type `str` but got type `int` instead"},
		{Example{Args: []any{"x"}, Err: "value_err", Message: "no"},
			"upper example 1, upper('x'): want value_err (-60): no; got 'X'"},
		{Example{Args: []any{"x"}, Err: "no_such_err"},
			"upper example 1, upper('x'): want an error named \"no_such_err\", which ThingsDB does not have; got 'X'"},
	}
	for _, c := range cases {
		got, err := upper.Call(context.Background(), testConf{}, c.e.Args)
		if problem := upper.Check(1, c.e, got, err); problem != c.want {
			t.Errorf("got  %s\nwant %s", problem, c.want)
		}
	}
}

func TestRequestIsWhatThingsDBSends(t *testing.T) {
	got := upper.Request([]any{"t", nil, map[string]any{"text": "over", "more": true}})
	want := map[string]any{"function": "upper", "text": "over", "sep": nil, "more": true}
	a, _ := json.Marshal(got)
	b, _ := json.Marshal(want)
	if string(a) != string(b) {
		t.Errorf("got %s, want %s", a, b)
	}
	got = upper.Request(nil)
	if got["text"] != nil || got["sep"] != "-" {
		t.Errorf("left out: got %v", got)
	}
}

func TestValueIsThingsDBCode(t *testing.T) {
	for _, c := range []struct {
		value any
		want  string
	}{
		{nil, "nil"},
		{true, "true"},
		{int64(-3), "-3"},
		{2.0, "2.0"},
		{1e16, "1e+16"},
		{1e-5, "1e-05"},
		{0.0001, "0.0001"},
		{123456789.125, "123456789.125"},
		{"it's", "'it''s'"},
		{[]byte{0x68, 0xe9}, "bytes('h\u00e9')"},
		{[]any{int64(1), "a"}, "[1, 'a']"},
		{map[string]any{"b": int64(1), "a": int64(2)}, "{a: 2, b: 1}"},
		// Not canonical: written as Canonical makes it.
		{[]any{1, []string{"a"}, map[string]int{"k": 2}}, "[1, ['a'], {k: 2}]"},
	} {
		if got := Value(c.value); got != c.want {
			t.Errorf("Value(%#v) = %s, want %s", c.value, got, c.want)
		}
	}
	if got := Value(map[string]any{"b": int64(1), "a": int64(2)}, "b"); got != "{b: 1, a: 2}" {
		t.Errorf("with the key order b: %s", got)
	}
}

func TestDescribeWritesTheSignature(t *testing.T) {
	d := Describe([]Function[testConf]{upper, Func("scale", func(context.Context, testConf, scaleArgs) (any, error) { return nil, nil })})
	if d[0].Doc != `upper(text: str, sep: str = "-", *)` || strings.Join(d[0].Argmap, ",") != "text,sep,*" {
		t.Errorf("upper: %+v", d[0])
	}
	if d[1].Doc != "scale(x: float, factor: int = 2)" {
		t.Errorf("scale: %s", d[1].Doc)
	}
	if len(d[0].Examples) != 3 || d[0].Examples[1].Args[2] != "{x: 1}" || d[0].Examples[2].Code != -61 {
		t.Errorf("examples: %+v", d[0].Examples)
	}
}
