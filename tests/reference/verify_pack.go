// Checks an unzipped Gavel evidence pack with the reference implementation
// of C2SP signed notes and RFC 6962 transparency-log proofs, Go's
// golang.org/x/mod/sumdb/note and .../tlog, and no Gavel code:
//
//	go run verify_pack.go DIR KEY
//
// pack.json must be a note signed by KEY whose text lists every other file
// with its SHA-256; trail/checkpoint.txt a note signed by KEY whose text is
// origin, size and root; and every line of trail/events.jsonl a leaf whose
// inclusion proof leads to that root. Prints what it checked as JSON.
package main

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

type listing struct {
	Origin string `json:"origin"`
	Files  []struct {
		Path   string `json:"path"`
		Sha256 string `json:"sha256"`
		Bytes  int64  `json:"bytes"`
	} `json:"files"`
}

type event struct {
	Seq        int64           `json:"seq"`
	PrevHash   string          `json:"prev_hash"`
	Actor      string          `json:"actor"`
	EntityType string          `json:"entity_type"`
	EntityID   string          `json:"entity_id"`
	Action     string          `json:"action"`
	Before     json.RawMessage `json:"before_version"`
	After      json.RawMessage `json:"after_version"`
	Details    string          `json:"details"`
	Leaf       string          `json:"leaf"`
	Proof      []string        `json:"proof"`
}

// Whether the event's fields are what its leaf says (the leaf is what the
// log hashed; the fields are what a reader reads).
func (e event) matchesLeaf() bool {
	var leaf []json.RawMessage
	if json.Unmarshal([]byte(e.Leaf), &leaf) != nil || len(leaf) != 10 {
		return false
	}
	text := func(i int) string {
		var s string
		if json.Unmarshal(leaf[i], &s) != nil {
			return "\x00not a string"
		}
		return s
	}
	same := func(raw json.RawMessage, i int) bool {
		if len(raw) == 0 {
			raw = json.RawMessage("null")
		}
		return bytes.Equal(bytes.TrimSpace(raw), bytes.TrimSpace(leaf[i]))
	}
	return text(0) == e.PrevHash && string(leaf[1]) == strconv.FormatInt(e.Seq, 10) &&
		text(3) == e.Actor && text(4) == e.EntityType && text(5) == e.EntityID &&
		text(6) == e.Action && same(e.Before, 7) && same(e.After, 8) && text(9) == e.Details
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, format+"\n", args...)
	os.Exit(1)
}

func open(path string, verifier note.Verifier) *note.Note {
	msg, err := os.ReadFile(path)
	if err != nil {
		fail("%s: %v", path, err)
	}
	opened, err := note.Open(msg, note.VerifierList(verifier))
	if err != nil {
		fail("%s: %v", path, err)
	}
	return opened
}

func main() {
	if len(os.Args) != 3 {
		fail("usage: verify_pack DIR KEY")
	}
	dir, key := os.Args[1], strings.TrimSpace(os.Args[2])
	verifier, err := note.NewVerifier(key)
	if err != nil {
		fail("key: %v", err)
	}

	// The signed list, and every file against it.
	var list listing
	if err := json.Unmarshal([]byte(open(filepath.Join(dir, "pack.json"), verifier).Text), &list); err != nil {
		fail("pack.json: %v", err)
	}
	listed := map[string]bool{"pack.json": true}
	for _, file := range list.Files {
		listed[file.Path] = true
		data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(file.Path)))
		if err != nil {
			fail("%s: %v", file.Path, err)
		}
		sum := sha256.Sum256(data)
		if hex.EncodeToString(sum[:]) != file.Sha256 || int64(len(data)) != file.Bytes {
			fail("%s: not the file pack.json lists", file.Path)
		}
	}
	err = filepath.WalkDir(dir, func(path string, entry fs.DirEntry, err error) error {
		if err != nil || entry.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		if !listed[filepath.ToSlash(rel)] {
			return fmt.Errorf("%s is not in pack.json", rel)
		}
		return nil
	})
	if err != nil {
		fail("%v", err)
	}

	// The checkpoint: origin, size, root (C2SP tlog-checkpoint).
	lines := strings.Split(open(filepath.Join(dir, "trail", "checkpoint.txt"), verifier).Text, "\n")
	if len(lines) < 4 || lines[0] != list.Origin {
		fail("trail/checkpoint.txt: not a checkpoint of %q", list.Origin)
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil {
		fail("trail/checkpoint.txt size: %v", err)
	}
	rootBytes, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(rootBytes) != tlog.HashSize {
		fail("trail/checkpoint.txt root: %q", lines[2])
	}
	var root tlog.Hash
	copy(root[:], rootBytes)

	// Every event in the tree the checkpoint signs.
	events, err := os.ReadFile(filepath.Join(dir, "trail", "events.jsonl"))
	if err != nil {
		fail("trail/events.jsonl: %v", err)
	}
	scanner := bufio.NewScanner(bytes.NewReader(events))
	scanner.Buffer(make([]byte, 1<<20), 1<<26)
	count := 0
	for scanner.Scan() {
		var e event
		if err := json.Unmarshal(scanner.Bytes(), &e); err != nil {
			fail("trail/events.jsonl line %d: %v", count+1, err)
		}
		if !e.matchesLeaf() {
			fail("event %d: its fields are not its leaf", e.Seq)
		}
		proof := make(tlog.RecordProof, len(e.Proof))
		for i, text := range e.Proof {
			raw, err := hex.DecodeString(text)
			if err != nil || len(raw) != tlog.HashSize {
				fail("event %d: proof hash %d is not a hash", e.Seq, i)
			}
			copy(proof[i][:], raw)
		}
		if err := tlog.CheckRecord(proof, size, root, e.Seq-1, tlog.RecordHash([]byte(e.Leaf))); err != nil {
			fail("event %d: %v", e.Seq, err)
		}
		count++
	}
	if err := scanner.Err(); err != nil {
		fail("trail/events.jsonl: %v", err)
	}
	out, _ := json.Marshal(map[string]any{
		"files":           len(list.Files),
		"events":          count,
		"checkpoint_size": size,
		"origin":          list.Origin,
	})
	fmt.Println(string(out))
}
