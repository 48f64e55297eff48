package manifest

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// The server's state machine (src/ti/mod/manifest.c), one method per yajl
// callback; rules.go holds the checks it makes after the parse.
//
// Only two things depend on the node's platform key: which `main` map entry
// counts, and whether an `includes` map names the node's own key. Neither
// changes what the state machine accepts up to that point, so one reading
// records both per key, and verdict answers for any key without reading the
// text again. Checking every key a `main` map lists stays linear that way.

// mode is what the state machine expects next.
type mode uint8

const (
	modeRoot mode = iota
	modeRootMap
	modeMain
	modeMainMap
	modeMainValue // the value of a `main` map entry, whatever its key
	modeVersion
	modeDoc
	modeDefaults
	modeDefaultsMap
	modeDeep
	modeLoad
	modeItem // a default argument's value
	modePack // inside a default argument that is a map or an array
	modeIncludes
	modeIncludesArr
	modeIncludesMap
	modeIncludesValue // the value of an `includes` map entry
	modeExposes
	modeExposesMap
	modeExpose    // an exposed function: a map or a closure
	modeExposeMap // inside an exposed function's map
	modeExposeDoc
	modeExposeDefaults
	modeArgmap
	modeArgmapArr
	modeRequirements
	modeRequirementsArr
)

const (
	inManifest      = "in module.json"
	allocError      = "allocation error while parsing module.json"
	unexpectedError = "unexpected error " + inManifest
	docProperties   = "; see https://docs.thingsdb.io/v1/overview/properties"
	osarch          = "expecting a string as `platform/architecture` " + inManifest
	maxDeep         = 127
)

// expecting starts the message for a value of the wrong type, per mode.
var expecting = map[mode]string{
	modeRoot:            "expecting a map " + inManifest,
	modeMain:            "expecting a string or map as `main` " + inManifest,
	modeMainValue:       osarch,
	modeVersion:         "expecting a string or number as `version` " + inManifest,
	modeDoc:             "expecting a string as `doc` " + inManifest,
	modeExposeDoc:       "expecting a string as `doc` " + inManifest,
	modeDefaults:        "expecting a map with `defaults` " + inManifest,
	modeExposeDefaults:  "expecting a map with `defaults` " + inManifest,
	modeDeep:            "expecting a `deep` value between 0 and 127 " + inManifest,
	modeLoad:            "expecting `load` to be true or false " + inManifest,
	modeIncludes:        "expecting an array with `includes` " + inManifest,
	modeIncludesArr:     "expecting a string or map as `include` item " + inManifest,
	modeIncludesValue:   osarch,
	modeExposes:         "expecting a map with functions to expose " + inManifest,
	modeExpose:          "expecting a map as `expose` value " + inManifest,
	modeArgmap:          "expecting an array or null as `argmap` value " + inManifest,
	modeArgmapArr:       "expecting a string as `argmap` item " + inManifest,
	modeRequirements:    "expecting an array as `requirements` value " + inManifest,
	modeRequirementsArr: "expecting a string as `requirements` item " + inManifest,
}

// notA ends the message for a value of the wrong type, per kind of value.
var notA = map[kind]string{
	kindNull:       "not null",
	kindBoolean:    "not a boolean",
	kindInteger:    "not a number",
	kindDouble:     "not a number",
	kindString:     "not a string",
	kindStartMap:   "not a map",
	kindStartArray: "not an array",
}

// rootKeys are the top-level keys the server knows; any other fails.
var rootKeys = map[string]mode{
	"main":         modeMain,
	"version":      modeVersion,
	"doc":          modeDoc,
	"defaults":     modeDefaults,
	"includes":     modeIncludes,
	"exposes":      modeExposes,
	"requirements": modeRequirements,
}

// mainValue is a string that becomes the node's `main` when it comes first.
type mainValue struct {
	at      int    // the index of its event
	path    string // cut at a NUL, as the server's C string
	isPy    bool
	checked bool
	problem string // pathProblem(path), once checked
}

// pathProblem is pathProblem(v.path), worked out once.
func (v *mainValue) pathProblem() string {
	if !v.checked {
		v.problem, v.checked = pathProblem(v.path), true
	}
	return v.problem
}

// includeMatch is the first string of an `includes` map under one key. On a
// node with that key, the server adds the file but stays in the value's
// mode, so the map's next key or closing brace fails.
type includeMatch struct {
	path   string
	failAt int  // the index of that next event; -1 when there is none
	isLast bool // the text ended right after the path: nothing failed
}

// keySet holds the keys seen in one `defaults` map or one argmap.
type keySet struct{ seen map[string]bool }

// add adds key; false when it was there already.
func (s *keySet) add(key string) bool {
	if s.seen[key] {
		return false
	}
	if s.seen == nil {
		s.seen = make(map[string]bool)
	}
	s.seen[key] = true
	return true
}

// reading is one pass of the state machine over a text.
type reading struct {
	mode    mode
	at      int // the index of the event being read
	failed  bool
	message string // why it failed

	stringMain *mainValue            // the first `main` given as a string
	mapMains   map[string]*mainValue // the first string per `main` map key
	key        string                // the key of the map entry being read
	matches    map[string]*includeMatch
	pending    *includeMatch // a match that waits for the next event

	hasVersion     bool
	version        string
	includes       []string
	requirements   bool // a `requirements` array was given
	exposes        map[string]bool
	rootDefaults   keySet
	exposeDefaults *keySet // the current exposed function's own
	defaults       *keySet // the `defaults` map being read
	defaultsDone   mode    // the mode after that map's closing brace
	argmap         keySet
	packDepth      int // nesting inside a default argument's map or array

	// After the whole text: the checks that do not depend on the key.
	versionProblem  string
	includesProblem string
}

// read runs the state machine over text as far as the server gets.
func read(text string) *reading {
	r := &reading{
		mapMains:       make(map[string]*mainValue),
		matches:        make(map[string]*includeMatch),
		exposes:        make(map[string]bool),
		exposeDefaults: &keySet{},
	}
	if !utf8.ValidString(text) { // yajl checks that strings are UTF-8
		r.fail(allocError)
		return r
	}
	p := newParser(text)
	for {
		ev, err := p.next()
		if err == errEnd {
			if r.pending != nil {
				r.pending.isLast = true
			}
			r.finish()
			return r
		}
		if err != nil {
			// The server sets no message of its own for a yajl error.
			return r.fail(allocError)
		}
		if !r.feed(ev) {
			return r
		}
		r.at++
	}
}

// fail records the server's message and stops the reading.
func (r *reading) fail(message string) *reading {
	r.failed, r.message = true, message
	return r
}

// reject records message and reports false: the event is not accepted.
func (r *reading) reject(message string) bool {
	r.fail(message)
	return false
}

// to switches to mode m; true, the event is accepted.
func (r *reading) to(m mode) bool {
	r.mode = m
	return true
}

// feed reads one event; false when the server stops there.
func (r *reading) feed(ev event) bool {
	if r.pending != nil {
		r.pending.failAt, r.pending = r.at, nil
	}
	switch ev.kind {
	case kindKey:
		return r.mapKey(ev.text)
	case kindEndMap:
		return r.endMap()
	case kindEndArray:
		return r.endArray()
	}
	return r.value(ev)
}

// typeError rejects a value of kind k in the current mode.
func (r *reading) typeError(k kind) bool {
	prefix, ok := expecting[r.mode]
	if !ok { // a callback in a mode the server's switch does not expect
		return r.reject(unexpectedError)
	}
	return r.reject(prefix + ", " + notA[k])
}

// value is the yajl_null, _boolean, _integer, _double, _string, _start_map
// and _start_array callback.
func (r *reading) value(ev event) bool {
	k := ev.kind
	switch r.mode {
	case modeRoot:
		if k == kindStartMap {
			return r.to(modeRootMap)
		}
	case modeMain:
		if k == kindString {
			if r.stringMain == nil {
				r.stringMain = newMainValue(r.at, ev.text)
			}
			return r.to(modeRootMap)
		}
		if k == kindStartMap {
			return r.to(modeMainMap)
		}
	case modeMainValue:
		if k == kindString {
			if r.mapMains[r.key] == nil {
				r.mapMains[r.key] = newMainValue(r.at, ev.text)
			}
			return r.to(modeMainMap)
		}
	case modeVersion:
		return r.versionValue(ev)
	case modeDoc:
		if k == kindString || k == kindNull {
			return r.to(modeRootMap)
		}
	case modeExposeDoc:
		if k == kindString || k == kindNull {
			return r.to(modeExposeMap)
		}
	case modeDefaults:
		if k == kindStartMap {
			r.defaults, r.defaultsDone = &r.rootDefaults, modeRootMap
			return r.to(modeDefaultsMap)
		}
	case modeExposeDefaults:
		if k == kindStartMap {
			r.defaults, r.defaultsDone = r.exposeDefaults, modeExposeMap
			return r.to(modeDefaultsMap)
		}
	case modeDeep:
		return r.deepValue(ev)
	case modeLoad:
		if k == kindBoolean {
			return r.to(modeDefaultsMap)
		}
	case modeItem:
		// Any JSON value is a default argument; maps and arrays are kept
		// packed as they are.
		if k == kindStartMap || k == kindStartArray {
			r.packDepth = 1
			return r.to(modePack)
		}
		return r.to(modeDefaultsMap)
	case modePack:
		if k == kindStartMap || k == kindStartArray {
			r.packDepth++
		}
		return true
	case modeIncludes:
		if k == kindStartArray {
			return r.to(modeIncludesArr)
		}
	case modeIncludesArr:
		if k == kindString {
			r.includes = append(r.includes, cstr(ev.text))
			return true
		}
		if k == kindStartMap {
			return r.to(modeIncludesMap)
		}
	case modeIncludesValue:
		if k == kindString {
			if r.matches[r.key] == nil {
				r.pending = &includeMatch{path: cstr(ev.text), failAt: -1}
				r.matches[r.key] = r.pending
			}
			return r.to(modeIncludesMap)
		}
	case modeExposes:
		if k == kindStartMap {
			return r.to(modeExposesMap)
		}
	case modeExpose:
		if k == kindStartMap {
			return r.to(modeExposeMap)
		}
		if k == kindString {
			if problem := closureProblem(ev.text); problem != "" {
				return r.reject("exposing string is not a closure: " + problem)
			}
			return r.to(modeExposesMap)
		}
	case modeArgmap:
		if k == kindNull { // null behaves as an absent argmap
			return r.to(modeExposeMap)
		}
		if k == kindStartArray {
			r.argmap = keySet{} // a repeated argmap starts a new list
			return r.to(modeArgmapArr)
		}
	case modeArgmapArr:
		if k == kindString {
			return r.argmapItem(ev.text)
		}
	case modeRequirements:
		if k == kindString { // the server's message really says "not a number" here
			return r.reject(expecting[modeRequirements] + ", not a number")
		}
		if k == kindStartArray {
			r.requirements = true // a repeated key adds to the same list
			return r.to(modeRequirementsArr)
		}
	case modeRequirementsArr:
		if k == kindString {
			if !requirementOK(ev.text) {
				return r.reject("invalid characters found in one of the requirements " + inManifest)
			}
			return true
		}
	}
	return r.typeError(k)
}

func newMainValue(at int, value string) *mainValue {
	// ti_module_file_is_py() looks at the last three bytes only
	return &mainValue{at: at, path: cstr(value), isPy: strings.HasSuffix(value, ".py")}
}

// versionValue reads `version`; the first value wins, but every value is
// type-checked.
func (r *reading) versionValue(ev event) bool {
	var version string
	switch ev.kind {
	case kindString:
		version = cstr(ev.text)
	case kindInteger: // printed with "%lld"
		version = strconv.FormatInt(ev.integer, 10)
	case kindDouble: // printed with "%g", so 1.0 becomes "1"
		version = strconv.FormatFloat(ev.double, 'g', 6, 64)
	default:
		return r.typeError(ev.kind)
	}
	if !r.hasVersion {
		r.hasVersion, r.version = true, version
	}
	return r.to(modeRootMap)
}

// deepValue reads `deep`, an integer or a double from 0 to 127.
func (r *reading) deepValue(ev event) bool {
	var shown string
	switch ev.kind {
	case kindInteger:
		if 0 <= ev.integer && ev.integer <= maxDeep {
			return r.to(modeDefaultsMap)
		}
		shown = strconv.FormatInt(ev.integer, 10) // "%lld"
	case kindDouble:
		if 0 <= ev.double && ev.double <= maxDeep {
			return r.to(modeDefaultsMap)
		}
		shown = strconv.FormatFloat(ev.double, 'f', 6, 64) // "%f"
	default:
		return r.typeError(ev.kind)
	}
	return r.reject(expecting[modeDeep] + ", not " + shown)
}

func (r *reading) argmapItem(value string) bool {
	if value == "" {
		return r.reject("argmap value " + inManifest + " must not be empty")
	}
	if value != "*" && isReservedKey(value) { // "*" takes the extra properties
		return r.reject("argmap value `" + value + "` " + inManifest + " is reserved" + docProperties)
	}
	if !r.argmap.add(value) {
		return r.reject("value `" + cstr(value) + "` exists more than once as `argmap` item " + inManifest)
	}
	return true
}

// mapKey is the yajl_map_key callback.
func (r *reading) mapKey(key string) bool {
	switch r.mode {
	case modeRootMap:
		m, ok := rootKeys[key] // so no "$schema" and no comment keys
		if !ok {
			return r.reject("unsupported key `" + cstr(key) + "` " + inManifest)
		}
		return r.to(m)
	case modeMainMap:
		r.key = key
		return r.to(modeMainValue)
	case modeIncludesMap:
		r.key = key
		return r.to(modeIncludesValue)
	case modeDefaultsMap:
		switch {
		case key == "deep":
			return r.to(modeDeep)
		case key == "load":
			return r.to(modeLoad)
		case isReservedKey(key):
			return r.reject("default keys `" + key + "` is reserved" + docProperties)
		case !r.defaults.add(key):
			return r.reject("key `" + cstr(key) + "` exists more than once in `defaults`")
		}
		return r.to(modeItem)
	case modePack:
		return true
	case modeExposesMap:
		if !isName(key) {
			return r.reject("invalid expose function name " + inManifest)
		}
		if r.exposes[key] { // also across a repeated `exposes` key
			return r.reject("double expose function " + inManifest)
		}
		r.exposes[key] = true
		r.exposeDefaults, r.argmap = &keySet{}, keySet{}
		return r.to(modeExpose)
	case modeExposeMap:
		switch key {
		case "doc":
			return r.to(modeExposeDoc)
		case "defaults":
			return r.to(modeExposeDefaults)
		case "argmap":
			return r.to(modeArgmap)
		}
		return r.reject("unsupported key `" + cstr(key) + "` used in exposed function " + inManifest)
	}
	return r.reject(unexpectedError)
}

// endMap is the yajl_end_map callback.
func (r *reading) endMap() bool {
	switch r.mode {
	case modePack:
		return r.endPack()
	case modeDefaultsMap:
		return r.to(r.defaultsDone)
	case modeRootMap:
		return r.to(modeRoot)
	case modeMainMap, modeExposesMap:
		return r.to(modeRootMap)
	case modeIncludesMap:
		return r.to(modeIncludesArr)
	case modeExposeMap:
		return r.to(modeExposesMap)
	}
	return r.reject(unexpectedError)
}

// endArray is the yajl_end_array callback.
func (r *reading) endArray() bool {
	switch r.mode {
	case modePack:
		return r.endPack()
	case modeIncludesArr, modeRequirementsArr:
		return r.to(modeRootMap)
	case modeArgmapArr:
		return r.to(modeExposeMap)
	}
	return r.reject(unexpectedError)
}

func (r *reading) endPack() bool {
	r.packDepth--
	if r.packDepth == 0 {
		return r.to(modeDefaultsMap)
	}
	return true
}
