package valuetext

import (
	"math"
	"strings"
	"testing"
)

func TestCode(t *testing.T) {
	for _, c := range []struct {
		value    any
		keyOrder []string
		want     string
	}{
		{nil, nil, "nil"},
		{true, nil, "true"},
		{int64(-3), nil, "-3"},
		{uint64(math.MaxUint64), nil, "18446744073709551615"},
		{2.0, nil, "2.0"},
		{1e16, nil, "1e+16"},
		{1e-5, nil, "1e-05"},
		{math.Inf(-1), nil, "-inf"},
		{"it's", nil, "'it''s'"},
		{"é\n", nil, "'é\n'"},
		{[]byte{0x68, 0xe9, '\''}, nil, "bytes('hé''')"},
		{[]any{}, nil, "[]"},
		{[]any{int64(1), "a", []any{nil}}, nil, "[1, 'a', [nil]]"},
		{map[string]any{}, nil, "{}"},
		{map[string]any{"b": int64(1), "a": int64(2)}, nil, "{a: 2, b: 1}"},
		{map[string]any{"b": int64(1), "a": int64(2), "c": nil}, []string{"c", "b", "x", "b"}, "{c: nil, b: 1, a: 2}"},
		{[]any{map[string]any{"a": 1.5, "z": map[string]any{"y": "", "z": false}}}, []string{"z"}, "[{z: {z: false, y: ''}, a: 1.5}]"},
		{int(7), nil, "7"},
		{[]any{[]string{"a"}}, nil, "[[a]]"},
	} {
		if got := Code(c.value, c.keyOrder...); got != c.want {
			t.Errorf("Code(%#v, %q) = %s, want %s", c.value, c.keyOrder, got, c.want)
		}
	}
}

func TestJSON(t *testing.T) {
	for _, c := range []struct {
		value any
		want  string
	}{
		{nil, "null"},
		{false, "false"},
		{int64(math.MinInt64), "-9223372036854775808"},
		{uint64(math.MaxUint64), "18446744073709551615"},
		{1.0, "1.0"},
		{math.Copysign(0, -1), "-0.0"},
		{1e15, "1000000000000000.0"},
		{math.NaN(), "NaN"},
		{math.Inf(1), "Infinity"},
		{"é\"\\\n\x01\x7f\u2028", `"é\"\\\n\u0001` + "\x7f\u2028\""},
		{[]any{int64(1), []any{}, map[string]any{}}, "[1, [], {}]"},
		{map[string]any{"b": int64(1), "a": []any{"x"}, "é": nil}, `{"a": ["x"], "b": 1, "é": null}`},
		{map[string]any{"k\"": 0.5}, `{"k\"": 0.5}`},
		// Not JSON: the Go text in Go's double quotes.
		{[]byte{1, 2}, `"[1 2]"`},
		{int(5), `"5"`},
		{[]any{struct{ S string }{"\x01é"}}, `["{\x01é}"]`},
	} {
		if got := JSON(c.value); got != c.want {
			t.Errorf("JSON(%#v) = %s, want %s", c.value, got, c.want)
		}
	}
}

func TestOtherWritesTheValuesTheWritersDoNotKnow(t *testing.T) {
	var other Other
	other = func(b *strings.Builder, v any) {
		switch v := v.(type) {
		case []byte:
			b.WriteString("b'" + string(v) + "'")
		case []int:
			list := make([]any, len(v))
			for i, n := range v {
				list[i] = int64(n)
			}
			WriteJSON(b, list, other)
		default:
			b.WriteString("?")
		}
	}
	var b strings.Builder
	WriteJSON(&b, map[string]any{"a": []any{[]byte("x"), []int{1, 2}}, "b": struct{}{}}, other)
	if got, want := b.String(), `{"a": [b'x', [1, 2]], "b": ?}`; got != want {
		t.Errorf("WriteJSON: got %s, want %s", got, want)
	}
	b.Reset()
	WriteCode(&b, map[string]any{"b": []any{[]byte("x"), struct{}{}}, "a": nil}, []string{"b"}, other)
	if got, want := b.String(), "{b: [bytes('x'), ?], a: nil}"; got != want {
		t.Errorf("WriteCode: got %s, want %s", got, want)
	}
}

func TestJSONString(t *testing.T) {
	for _, c := range []struct{ s, want string }{
		{"", `""`},
		{"plain", `"plain"`},
		{"\"\\/", `"\"\\/"`},
		{"\n\r\t\b\f", `"\n\r\t\b\f"`},
		{"\x00\x1f ", `"\u0000\u001f "`},
		{"\x7f é 😀", "\"\x7f é 😀\""},
		{"a\xffb", "\"a\xffb\""},
	} {
		if got := JSONString(c.s); got != c.want {
			t.Errorf("JSONString(%q) = %s, want %s", c.s, got, c.want)
		}
	}
}

func TestFloatIsPythonsRepr(t *testing.T) {
	for _, c := range []struct {
		x          float64
		repr, json string
	}{
		{0, "0.0", "0.0"},
		{math.Copysign(0, -1), "-0.0", "-0.0"},
		{1, "1.0", "1.0"},
		{-2.5, "-2.5", "-2.5"},
		{3.2, "3.2", "3.2"},
		{0.1, "0.1", "0.1"},
		{1e-4, "0.0001", "0.0001"},
		{1e-5, "1e-05", "1e-05"},
		{-1.5e-7, "-1.5e-07", "-1.5e-07"},
		{1234567890123456, "1234567890123456.0", "1234567890123456.0"},
		{9999999999999998, "9999999999999998.0", "9999999999999998.0"},
		{1e16, "1e+16", "1e+16"},
		{123456789012345678, "1.2345678901234568e+17", "1.2345678901234568e+17"},
		{1.5e300, "1.5e+300", "1.5e+300"},
		{math.MaxFloat64, "1.7976931348623157e+308", "1.7976931348623157e+308"},
		{5e-324, "5e-324", "5e-324"},
		{math.Inf(1), "inf", "Infinity"},
		{math.Inf(-1), "-inf", "-Infinity"},
		{math.NaN(), "nan", "NaN"},
	} {
		if got := Float(c.x); got != c.repr {
			t.Errorf("Float(%v) = %s, want %s", c.x, got, c.repr)
		}
		if got := JSONFloat(c.x); got != c.json {
			t.Errorf("JSONFloat(%v) = %s, want %s", c.x, got, c.json)
		}
	}
}
