package main

import (
	"encoding"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"

	yaml "go.yaml.in/yaml/v3"

	"github.com/umsync/umsync/directory"
)

// checkNode walks the YAML tree n along the Go type t and returns each
// unknown key, each key given twice and each value of the wrong type, named
// by its YAML path and line: what strict decoding finds, but every problem
// at once and with its path. A whole number written with a fraction is a
// problem too (yaml/v3 would cut 6.5 to 6).
//
// A walker of our own because no maintained YAML library names the path:
// go.yaml.in/yaml/v3 (KnownFields) reports "line 4: field bogus not found
// in type ums.LicenseConfig" and "line 2: cannot unmarshal !!str `x` into
// int", a line and a Go type; github.com/goccy/go-yaml (v1.19, Strict)
// stops at the first error and names the Go struct field. (Checked 2026-11;
// go.yaml.in/yaml/v4 is not released.) Values are tried with the library's
// own Decode, one node at a time, so a value passes here exactly when it
// decodes: no error text is parsed.
func checkNode(n *yaml.Node, t reflect.Type, path string) []error {
	w := walker{aliased: map[*yaml.Node]bool{}}
	return w.node(n, t, path)
}

type walker struct {
	// aliased are the anchored nodes already walked through an alias:
	// each is walked once however often it is named, so a file of aliases
	// of aliases costs no more than its size.
	aliased map[*yaml.Node]bool
}

func (w walker) node(n *yaml.Node, t reflect.Type, path string) []error {
	if n.Kind == yaml.AliasNode {
		if w.aliased[n.Alias] {
			return nil
		}
		w.aliased[n.Alias] = true
		return w.node(n.Alias, t, path)
	}
	if n.Tag == "!!null" {
		return nil // leaves the default
	}
	switch {
	case decodesItself(t):
	case t.Kind() == reflect.Pointer:
		return w.node(n, t.Elem(), path)
	case t.Kind() == reflect.Struct:
		if n.Kind != yaml.MappingNode {
			break
		}
		fields := map[string]reflect.Type{}
		yamlFields(t, fields)
		return w.mapping(n, path, func(key *yaml.Node, p string) []error {
			if _, ok := fields[key.Value]; !ok {
				return []error{fmt.Errorf("%s: unknown key (line %d)", p, key.Line)}
			}
			return nil
		}, func(key *yaml.Node) reflect.Type { return fields[key.Value] })
	case t.Kind() == reflect.Map:
		if n.Kind != yaml.MappingNode {
			break
		}
		return w.mapping(n, path, func(key *yaml.Node, p string) []error {
			return checkValue(key, t.Key(), p)
		}, func(*yaml.Node) reflect.Type { return t.Elem() })
	case t.Kind() == reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			break
		}
		var errs []error
		for i, item := range n.Content {
			errs = append(errs, w.node(item, t.Elem(), fmt.Sprintf("%s[%d]", path, i))...)
		}
		return errs
	}
	return checkValue(n, t, path)
}

// mapping checks each key of the mapping n (checkKey) and then its value
// against valueType(key). A key given twice is a problem, and its second
// entry is dropped from n. A merge key (<<: *anchor) brings in the keys of
// the mappings it names.
func (w walker) mapping(n *yaml.Node, path string, checkKey func(key *yaml.Node, p string) []error,
	valueType func(key *yaml.Node) reflect.Type) []error {
	var errs []error
	seen := map[string]int{}
	kept := n.Content[:0:0]
	for i := 0; i+1 < len(n.Content); i += 2 {
		key, val := n.Content[i], n.Content[i+1]
		if key.Tag == "!!merge" {
			kept = append(kept, key, val)
			for _, m := range w.merged(val) {
				errs = append(errs, w.mapping(m, path, checkKey, valueType)...)
			}
			continue
		}
		p := join(path, key.Value)
		if line, ok := seen[key.Value]; ok {
			errs = append(errs, fmt.Errorf("%s: given twice (lines %d and %d)", p, line, key.Line))
			continue
		}
		seen[key.Value] = key.Line
		kept = append(kept, key, val)
		if kerrs := checkKey(key, p); len(kerrs) > 0 {
			errs = append(errs, kerrs...)
			continue
		}
		errs = append(errs, w.node(val, valueType(key), p)...)
	}
	if len(kept) < len(n.Content) {
		// yaml/v3 gives up on a file with a key given twice; without the
		// second one, Decode reads the rest and Validate can judge it.
		n.Content = kept
	}
	return errs
}

// merged are the mappings a merge key's value names (one, or a list of
// them) that were not walked yet.
func (w walker) merged(n *yaml.Node) []*yaml.Node {
	if n.Kind == yaml.AliasNode {
		if w.aliased[n.Alias] {
			return nil
		}
		w.aliased[n.Alias] = true
		n = n.Alias
	}
	if n.Kind == yaml.SequenceNode {
		var out []*yaml.Node
		for _, item := range n.Content {
			out = append(out, w.merged(item)...)
		}
		return out
	}
	if n.Kind != yaml.MappingNode {
		return nil // not a mapping: Decode says so
	}
	return []*yaml.Node{n}
}

// checkValue decodes n into a new value of type t, as decoding the whole
// file would, and says what was wanted if that fails.
func checkValue(n *yaml.Node, t reflect.Type, path string) []error {
	err := n.Decode(reflect.New(t).Interface())
	if err == nil && n.Tag == "!!float" && wholeNumber(t) {
		err = errors.New("a fraction") // Decode would cut 6.5 to 6
	}
	if err != nil {
		return []error{fmt.Errorf("%s: want %s, got %s (line %d)", orRoot(path), wantOf(t), describe(n), n.Line)}
	}
	return nil
}

// yamlFields adds the YAML keys of struct type t, with their types, to
// into; an inline field's keys are t's own.
func yamlFields(t reflect.Type, into map[string]reflect.Type) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		switch {
		case !f.IsExported() || name == "-":
		case opts == "inline":
			yamlFields(f.Type, into)
		case name == "":
			into[strings.ToLower(f.Name)] = f.Type
		default:
			into[name] = f.Type
		}
	}
}

var (
	durationType         = reflect.TypeOf(time.Duration(0))
	unmarshalerType      = reflect.TypeOf((*yaml.Unmarshaler)(nil)).Elem()
	textUnmarshalerType  = reflect.TypeOf((*encoding.TextUnmarshaler)(nil)).Elem()
	directoryURLsType    = reflect.TypeOf(directory.URLs{})
	wantOfUnmarshalTypes = map[reflect.Type]string{
		durationType:      "a duration such as 90s, 15m or 720h",
		directoryURLsType: "an ldap:// or ldaps:// URL or a list of them",
	}
)

// decodesItself: values of t are decoded as a whole (by their own
// UnmarshalYAML or UnmarshalText, or a duration from its text), not key by
// key.
func decodesItself(t reflect.Type) bool {
	p := reflect.PointerTo(t)
	return t == durationType || p.Implements(unmarshalerType) || p.Implements(textUnmarshalerType)
}

// wholeNumber: t (or what it points to) is an integer type, not a
// duration.
func wholeNumber(t reflect.Type) bool {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t != durationType && t.Kind() >= reflect.Int && t.Kind() <= reflect.Uint64
}

// wantOf says what a value of type t is, for a person.
func wantOf(t reflect.Type) string {
	if w, ok := wantOfUnmarshalTypes[t]; ok {
		return w
	}
	switch t.Kind() {
	case reflect.Pointer:
		return wantOf(t.Elem())
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "a whole number"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number, 0 or more"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.String:
		return "a string"
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.String {
			return "a list of strings"
		}
		return "a list"
	default:
		return "a mapping"
	}
}

// describe names what n is, for a person.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return describe(n.Alias)
	}
	v := n.Value
	if len(v) > 40 {
		v = v[:40] + "…"
	}
	return fmt.Sprintf("%q", v)
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func orRoot(path string) string {
	if path == "" {
		return "(top level)"
	}
	return path
}
