// gotemplater renders a dgr-style directory (attributes/ + templates/) with Go's
// text/template, the way dgr's templater does, using only the standard library.
// It is the reference the templater benchmark compares carpool against.
// Attribute files must be JSON (which is also YAML), since Go's stdlib has no YAML.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"text/template"
)

var funcs = template.FuncMap{
	"base":      path.Base,
	"dir":       path.Dir,
	"toUpper":   strings.ToUpper,
	"toLower":   strings.ToLower,
	"contains":  strings.Contains,
	"replace":   strings.Replace,
	"repeat":    strings.Repeat,
	"hasPrefix": strings.HasPrefix,
	"hasSuffix": strings.HasSuffix,
	"split":     strings.Split,
}

func merge(dst, src map[string]interface{}) map[string]interface{} {
	for k, v := range src {
		if d, ok := dst[k].(map[string]interface{}); ok {
			if s, ok := v.(map[string]interface{}); ok {
				v = merge(d, s)
			}
		}
		dst[k] = v
	}
	return dst
}

func listFiles(dir string) []string {
	var files []string
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		info, err := os.Stat(p)
		if err != nil {
			continue
		}
		if info.IsDir() {
			files = append(files, listFiles(p)...)
		} else {
			files = append(files, p)
		}
	}
	return files
}

func attributes(dir string) map[string]interface{} {
	acc := map[string]interface{}{"default": map[string]interface{}{}}
	for _, f := range listFiles(dir) {
		content, err := os.ReadFile(f)
		check(err)
		var data map[string]interface{}
		check(json.Unmarshal(content, &data))
		merge(acc, data)
	}
	result := acc["default"].(map[string]interface{})
	if o, ok := acc["override"].(map[string]interface{}); ok {
		result = merge(result, o)
	}
	return result
}

func cleanup(content string) string {
	var lines []string
	var current string
	scanner := bufio.NewScanner(strings.NewReader(content))
	for scanner.Scan() {
		part := strings.TrimRight(scanner.Text(), " ")
		left := strings.TrimLeft(part, " ")
		if strings.HasPrefix(left, "{{-") {
			part = "{{" + left[3:]
		}
		current += part
		if strings.HasSuffix(current, "-}}") {
			current = current[:len(current)-3] + "}}"
		} else {
			lines = append(lines, current)
			current = ""
		}
	}
	if current != "" {
		lines = append(lines, current)
	}
	return strings.Join(lines, "\n")
}

func render(partials *template.Template, src, dst string, attrs map[string]interface{}) {
	info, err := os.Stat(src)
	check(err)
	check(os.MkdirAll(dst, info.Mode().Perm()))
	entries, err := os.ReadDir(src)
	check(err)
	sort.Slice(entries, func(i, j int) bool { return entries[i].Name() < entries[j].Name() })
	for _, e := range entries {
		name := e.Name()
		s, d := src+"/"+name, dst+"/"+name
		if e.IsDir() {
			render(partials, s, d, attrs)
			continue
		}
		if !strings.HasSuffix(name, ".tmpl") {
			continue
		}
		d = d[:len(d)-5]
		content, err := os.ReadFile(s)
		check(err)
		var t *template.Template
		if partials != nil {
			t = partials.New(s)
		} else {
			t = template.New(s)
		}
		t, err = t.Funcs(funcs).Parse(cleanup(string(content)))
		check(err)
		var buf bytes.Buffer
		check(t.Execute(&buf, attrs))
		buf.WriteByte('\n')
		for i, line := range strings.Split(buf.String(), "\n") {
			if strings.Contains(line, "<no value>") {
				check(fmt.Errorf("%s: line %d has <no value>", s, i+1))
			}
		}
		fi, err := os.Stat(s)
		check(err)
		tmp := d + ".tmp"
		check(os.WriteFile(tmp, buf.Bytes(), fi.Mode().Perm()))
		check(os.Rename(tmp, d))
	}
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

func main() {
	target := "/"
	var dir string
	for i := 1; i < len(os.Args); i++ {
		if os.Args[i] == "-t" && i+1 < len(os.Args) {
			target = os.Args[i+1]
			i++
		} else {
			dir = os.Args[i]
		}
	}
	attrs := attributes(dir + "/attributes")
	tdir := dir + "/templates"
	var partials *template.Template
	entries, err := os.ReadDir(tdir)
	check(err)
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".partial") {
			continue
		}
		p := tdir + "/" + e.Name()
		content, err := os.ReadFile(p)
		check(err)
		if partials == nil {
			partials = template.New(p).Funcs(funcs)
		} else {
			partials = partials.New(p).Funcs(funcs)
		}
		partials, err = partials.Parse(cleanup(string(content)))
		check(err)
	}
	render(partials, tdir, target, attrs)
}
