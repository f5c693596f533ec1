package main

import (
	"bytes"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/idvbus/idvbus/internal/config"
)

// The generated files, relative to the repository root.
const (
	DocFile    = "docs/config.md"
	SchemaFile = "schemas/config.schema.json"
)

// modulePath is the module whose root holds go.mod, docs/ and schemas/.
const modulePath = "github.com/idvbus/idvbus"

// entry is one key with its description.
type entry struct {
	config.Key
	// Doc is the field's doc comment, on one line.
	Doc string
}

// reference is every key, in the order of the Config struct.
type reference []entry

// build lists the keys and reads each one's description from its field's
// doc comment. A key without one is an error: every key is documented.
func build() (reference, error) {
	keys := config.Keys()
	pkgs := map[string]bool{}
	for _, k := range keys {
		pkgs[k.Owner.PkgPath()] = true
	}
	docs, err := fieldDocs(pkgs)
	if err != nil {
		return nil, err
	}
	var ref reference
	var missing []string
	for _, k := range keys {
		doc := docs[k.Owner.PkgPath()+"."+k.Owner.Name()+"."+k.Field.Name]
		if doc == "" {
			missing = append(missing, fmt.Sprintf("%s (%s.%s)", k.Path, k.Owner.Name(), k.Field.Name))
		}
		// "URL is ..." reads better in the docs as "`url` is ...".
		if rest, ok := strings.CutPrefix(doc, k.Field.Name+" "); ok {
			doc = "`" + k.Path[strings.LastIndex(k.Path, ".")+1:] + "` " + rest
		}
		ref = append(ref, entry{Key: k, Doc: doc})
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("these keys' fields have no doc comment, which is their description:\n  %s", strings.Join(missing, "\n  "))
	}
	return ref, nil
}

// docLink is a Go doc link such as [Default] or [idv.Filter].
var docLink = regexp.MustCompile(`\[([A-Za-z_][A-Za-z0-9_.]*)\]`)

// fieldDocs reads the doc comments of the struct fields in the packages
// pkgs, keyed "pkgpath.Type.Field". A comment above a field wins over one
// after it on its line.
func fieldDocs(pkgs map[string]bool) (map[string]string, error) {
	var paths []string
	for p := range pkgs {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	// go list finds each package's directory wherever it is (this module,
	// the sdk module, a workspace).
	cmd := exec.Command("go", append([]string{"list", "-f", "{{.ImportPath}} {{.Dir}}"}, paths...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list: %w: %s", err, stderr.String())
	}
	docs := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		pkg, dir, _ := strings.Cut(line, " ")
		fset := token.NewFileSet()
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil {
			return nil, err
		}
		for _, name := range files {
			if strings.HasSuffix(name, "_test.go") {
				continue
			}
			f, err := parser.ParseFile(fset, name, nil, parser.ParseComments)
			if err != nil {
				return nil, err
			}
			ast.Inspect(f, func(n ast.Node) bool {
				ts, ok := n.(*ast.TypeSpec)
				if !ok {
					return true
				}
				st, ok := ts.Type.(*ast.StructType)
				if !ok {
					return false
				}
				for _, fld := range st.Fields.List {
					text := fld.Doc.Text()
					if text == "" {
						text = fld.Comment.Text()
					}
					for _, id := range fld.Names {
						docs[pkg+"."+ts.Name.Name+"."+id.Name] = oneLine(text)
					}
				}
				return false
			})
		}
	}
	return docs, nil
}

// oneLine joins a doc comment's lines and turns Go doc links into code.
func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	return docLink.ReplaceAllString(s, "`$1`")
}

// repoRoot finds the directory of this module's go.mod, upwards from the
// working directory (go generate runs in internal/config, go test in this
// package's directory).
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil {
			if regexp.MustCompile(`(?m)^module\s+` + regexp.QuoteMeta(modulePath) + `\s*$`).Match(b) {
				return dir, nil
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod of " + modulePath + " above the working directory")
		}
		dir = parent
	}
}

// typeName is how the docs name a setting's type.
func typeName(t reflect.Type) string {
	if t == reflect.TypeOf(time.Duration(0)) {
		return "duration"
	}
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Int, reflect.Int32, reflect.Int64:
		return "integer"
	case reflect.Float32, reflect.Float64:
		return "number"
	case reflect.Slice:
		return "list of " + typeName(t.Elem()) + "s"
	case reflect.Map:
		return "map of " + typeName(t.Elem())
	}
	return t.String()
}
