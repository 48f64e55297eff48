package devnode

import (
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"strconv"
)

// InstallConfiguration is the value of installConfiguration in the
// project's integration_test.go, the configuration its tests install the
// module with (nil when there is none: the module takes no configuration).
// It must be a literal: strings, numbers, booleans, nil, map[string]any and
// []any of those.
func InstallConfiguration(path string) (any, error) {
	src, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	file, err := parser.ParseFile(token.NewFileSet(), path, src, parser.SkipObjectResolution)
	if err != nil {
		return nil, err
	}
	for _, decl := range file.Decls {
		gen, ok := decl.(*ast.GenDecl)
		if !ok || gen.Tok != token.VAR {
			continue
		}
		for _, spec := range gen.Specs {
			vs := spec.(*ast.ValueSpec)
			for i, name := range vs.Names {
				if name.Name == "installConfiguration" && i < len(vs.Values) {
					value, err := literal(vs.Values[i])
					if err != nil {
						return nil, fmt.Errorf("%s: installConfiguration: %v", path, err)
					}
					return value, nil
				}
			}
		}
	}
	return nil, nil
}

// literal evaluates a constant Go expression.
func literal(e ast.Expr) (any, error) {
	switch e := e.(type) {
	case *ast.ParenExpr:
		return literal(e.X)
	case *ast.BasicLit:
		switch e.Kind {
		case token.STRING:
			return strconv.Unquote(e.Value)
		case token.INT:
			return strconv.ParseInt(e.Value, 0, 64)
		case token.FLOAT:
			return strconv.ParseFloat(e.Value, 64)
		}
	case *ast.Ident:
		switch e.Name {
		case "true", "false":
			return e.Name == "true", nil
		case "nil":
			return nil, nil
		}
	case *ast.UnaryExpr:
		if e.Op == token.SUB {
			v, err := literal(e.X)
			switch n := v.(type) {
			case int64:
				return -n, err
			case float64:
				return -n, err
			}
		}
	case *ast.CallExpr: // a conversion: int64(1), float64(2)
		if len(e.Args) == 1 {
			if _, ok := e.Fun.(*ast.Ident); ok {
				return literal(e.Args[0])
			}
		}
	case *ast.CompositeLit:
		switch e.Type.(type) {
		case *ast.MapType:
			out := map[string]any{}
			for _, elt := range e.Elts {
				kv, ok := elt.(*ast.KeyValueExpr)
				if !ok {
					return nil, errors.New("a map element without a key")
				}
				key, err := literal(kv.Key)
				name, isString := key.(string)
				if err != nil || !isString {
					return nil, fmt.Errorf("a key that is not a string: %T", kv.Key)
				}
				if out[name], err = literal(kv.Value); err != nil {
					return nil, err
				}
			}
			return out, nil
		case *ast.ArrayType:
			out := []any{}
			for _, elt := range e.Elts {
				v, err := literal(elt)
				if err != nil {
					return nil, err
				}
				out = append(out, v)
			}
			return out, nil
		}
	}
	return nil, fmt.Errorf("not a literal dev can read (%T)", e)
}
