package peer

import (
	"encoding/binary"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"{{ cookiecutter.go_module_path }}/internal/valuetext"
)

// Render writes a value as the try-out command prints a reply: JSON
// (valuetext.JSON), with bytes as a bytes literal (b'raw'), floats with a
// decimal point or an exponent (1.0, 1e+16) so that they read apart from
// integers, and the keys of a map in sorted order. The Python flavour's
// peer prints the same.
func Render(v any) string {
	var b strings.Builder
	render(&b, v)
	return b.String()
}

func render(b *strings.Builder, v any) {
	valuetext.WriteJSON(b, v, renderOther)
}

// renderOther renders the values valuetext.WriteJSON leaves to its caller.
func renderOther(b *strings.Builder, v any) {
	switch v := v.(type) {
	case int:
		b.WriteString(strconv.Itoa(v))
	case []byte:
		b.WriteString(pyBytesRepr(v))
	case orderedMap:
		b.WriteByte('{')
		for i, entry := range v {
			if i > 0 {
				b.WriteString(", ")
			}
			switch key := entry.key.(type) {
			case string, []byte:
				render(b, key)
			default:
				b.WriteString(valuetext.JSONString(pyStr(key)))
			}
			b.WriteString(": ")
			render(b, entry.value)
		}
		b.WriteByte('}')
	case Ext:
		b.WriteString(valuetext.JSONString(extRepr(v)))
	default:
		renderReflected(b, reflect.ValueOf(v))
	}
}

// renderReflected renders the values that are not canonical ones.
func renderReflected(b *strings.Builder, v reflect.Value) {
	switch v.Kind() {
	case reflect.Invalid:
		b.WriteString("null")
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		b.WriteString(strconv.FormatInt(v.Int(), 10))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		b.WriteString(strconv.FormatUint(v.Uint(), 10))
	case reflect.Float32, reflect.Float64:
		b.WriteString(valuetext.JSONFloat(v.Float()))
	case reflect.Bool:
		b.WriteString(strconv.FormatBool(v.Bool()))
	case reflect.String:
		b.WriteString(valuetext.JSONString(v.String()))
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			b.WriteString("null")
		} else {
			render(b, v.Elem().Interface())
		}
	case reflect.Slice, reflect.Array:
		list := make([]any, v.Len())
		for i := range list {
			list[i] = v.Index(i).Interface()
		}
		render(b, list)
	case reflect.Map:
		keys := v.MapKeys()
		sort.Slice(keys, func(i, j int) bool { return fmt.Sprint(keys[i]) < fmt.Sprint(keys[j]) })
		m := make(orderedMap, len(keys))
		for i, key := range keys {
			m[i] = mapEntry{key.Interface(), v.MapIndex(key).Interface()}
		}
		render(b, m)
	default:
		b.WriteString(valuetext.JSONString(fmt.Sprintf("%v", v.Interface())))
	}
}

// pyStr is Python's str() of a map key that is not a string.
func pyStr(v any) string {
	switch v := v.(type) {
	case nil:
		return "None"
	case bool:
		if v {
			return "True"
		}
		return "False"
	case float64:
		return valuetext.Float(v)
	case Ext:
		return extRepr(v)
	}
	return Render(v)
}

// extRepr is how msgpack for Python shows an extension value: a timestamp
// (type -1) as a Timestamp, any other as an ExtType.
func extRepr(e Ext) string {
	if e.Type != -1 {
		return fmt.Sprintf("ExtType(code=%d, data=%s)", e.Type, pyBytesRepr(e.Data))
	}
	var seconds int64
	var nanoseconds uint32
	switch len(e.Data) {
	case 4:
		seconds = int64(binary.BigEndian.Uint32(e.Data))
	case 8:
		n := binary.BigEndian.Uint64(e.Data)
		seconds, nanoseconds = int64(n&(1<<34-1)), uint32(n>>34)
	case 12:
		nanoseconds = binary.BigEndian.Uint32(e.Data)
		seconds = int64(binary.BigEndian.Uint64(e.Data[4:]))
	default: // not a timestamp after all: msgpack for Python refuses it
		return fmt.Sprintf("ExtType(code=%d, data=%s)", e.Type, pyBytesRepr(e.Data))
	}
	return fmt.Sprintf("Timestamp(seconds=%d, nanoseconds=%d)", seconds, nanoseconds)
}

// pyBytesRepr is Python's repr of bytes: b'raw', with \x escapes.
func pyBytesRepr(data []byte) string {
	quote := byte('\'')
	if strings.IndexByte(string(data), '\'') >= 0 && strings.IndexByte(string(data), '"') < 0 {
		quote = '"'
	}
	var b strings.Builder
	b.WriteByte('b')
	b.WriteByte(quote)
	for _, c := range data {
		switch {
		case c == quote || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c == '\t':
			b.WriteString(`\t`)
		case c == '\n':
			b.WriteString(`\n`)
		case c == '\r':
			b.WriteString(`\r`)
		case c < 0x20 || c >= 0x7f:
			fmt.Fprintf(&b, `\x%02x`, c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte(quote)
	return b.String()
}

// pyRepr is Python's repr of a string, for messages that show what was
// typed. A byte that is not UTF-8 shows as Python shows it in a command
// line argument (\udcXX).
func pyRepr(s string) string {
	quote := '\''
	if strings.ContainsRune(s, '\'') && !strings.ContainsRune(s, '"') {
		quote = '"'
	}
	var b strings.Builder
	b.WriteRune(quote)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\udc%02x`, s[i])
		case r == quote || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r != ' ' && !unicode.IsPrint(r):
			switch {
			case r < 0x100:
				fmt.Fprintf(&b, `\x%02x`, r)
			case r < 0x10000:
				fmt.Fprintf(&b, `\u%04x`, r)
			default:
				fmt.Fprintf(&b, `\U%08x`, r)
			}
		default:
			b.WriteRune(r)
		}
		i += size
	}
	b.WriteRune(quote)
	return b.String()
}
