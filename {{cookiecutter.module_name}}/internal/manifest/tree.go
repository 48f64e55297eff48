package manifest

import "unicode/utf8"

// node is a JSON value of the tree Lint reads. A map keeps its keys in
// order, repeated ones included.
type node struct {
	kind   kind // a scalar's kind, kindStartMap or kindStartArray
	scalar event
	keys   []string // a map's keys
	values []*node  // a map's values or an array's items
}

func (n *node) isMap() bool   { return n != nil && n.kind == kindStartMap }
func (n *node) isArray() bool { return n != nil && n.kind == kindStartArray }
func (n *node) isString() bool {
	return n != nil && n.kind == kindString
}

// get is every value of key in the map n, in order.
func (n *node) get(key string) []*node {
	var values []*node
	for i, k := range n.keys {
		if k == key {
			values = append(values, n.values[i])
		}
	}
	return values
}

// readTree builds the values from the events: a text cut short gives what
// was read. nil when the text is not valid JSON.
func readTree(text string) *node {
	if !utf8.ValidString(text) {
		return nil
	}
	p := newParser(text)
	root := &node{kind: kindStartArray} // holds the document's value
	stack := []*node{root}
	key := ""
	for {
		ev, err := p.next()
		if err == errEnd {
			break
		}
		if err != nil {
			return nil
		}
		parent := stack[len(stack)-1]
		switch ev.kind {
		case kindKey:
			key = ev.text
			continue
		case kindEndMap, kindEndArray:
			stack = stack[:len(stack)-1]
			continue
		}
		child := &node{kind: ev.kind, scalar: ev}
		if parent.isMap() {
			parent.keys = append(parent.keys, key)
		}
		parent.values = append(parent.values, child)
		if ev.kind == kindStartMap || ev.kind == kindStartArray {
			stack = append(stack, child)
		}
	}
	if len(root.values) == 0 {
		return nil
	}
	return root.values[0]
}
