package manifest

// The grammar on top of the tokens: yajl_parser.c's states, giving the
// events of its callbacks.

// state is what may come next at the current level of the parser.
type state uint8

const (
	stateValue state = iota
	stateFirstValue
	stateKey
	stateFirstKey
	stateColon
	stateNext
	stateDone
)

// parser turns tokens into events, checking the grammar as yajl_parser.c
// does, without yajl_allow_trailing_garbage or yajl_allow_comments.
type parser struct {
	lex   lexer
	maps  []bool // the open containers, true for a map
	state state
}

func newParser(text string) *parser {
	return &parser{lex: lexer{text: text}}
}

// afterValue is the state after a complete value at the current level.
func (p *parser) afterValue() state {
	if len(p.maps) == 0 {
		return stateDone
	}
	return stateNext
}

// next returns the next event; errEnd where the events end quietly, and
// errSyntax where yajl reports an error.
func (p *parser) next() (event, error) {
	for {
		token, err := p.lex.next()
		if err != nil {
			return event{}, err
		}
		switch p.state {
		case stateDone:
			return event{}, errSyntax // "trailing garbage"
		case stateKey, stateFirstKey:
			switch {
			case token.kind == kindString:
				p.state = stateColon
				return event{kind: kindKey, text: token.text}, nil
			case token.is('}') && p.state == stateFirstKey:
				// "{}" closes its map like any other: yajl pops its state.
				p.maps = p.maps[:len(p.maps)-1]
				p.state = p.afterValue()
				return event{kind: kindEndMap}, nil
			}
			return event{}, errSyntax // a trailing comma lands here too
		case stateColon:
			if !token.is(':') {
				return event{}, errSyntax
			}
			p.state = stateValue
		case stateNext:
			isMap := p.maps[len(p.maps)-1]
			switch {
			case token.is(','):
				p.state = stateValue
				if isMap {
					p.state = stateKey
				}
			case token.is('}') && isMap, token.is(']') && !isMap:
				p.maps = p.maps[:len(p.maps)-1]
				p.state = p.afterValue()
				if isMap {
					return event{kind: kindEndMap}, nil
				}
				return event{kind: kindEndArray}, nil
			default:
				return event{}, errSyntax
			}
		default: // stateValue, stateFirstValue
			switch {
			case token.is('{'):
				p.maps = append(p.maps, true)
				p.state = stateFirstKey
				return event{kind: kindStartMap}, nil
			case token.is('['):
				p.maps = append(p.maps, false)
				p.state = stateFirstValue
				return event{kind: kindStartArray}, nil
			case token.is(']') && p.state == stateFirstValue:
				p.maps = p.maps[:len(p.maps)-1]
				p.state = p.afterValue()
				return event{kind: kindEndArray}, nil
			case token.kind != kindPunct:
				p.state = p.afterValue()
				return token, nil
			}
			return event{}, errSyntax
		}
	}
}
