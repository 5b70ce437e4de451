// Package atomicfile writes files so that a reader sees either the old contents
// or the new ones, never a part: the bytes go to a temporary file in the same
// folder (".NAME.tmp-RANDOM"), which is synced, made mode 0644 and renamed over
// NAME, and then the folder itself is synced so the rename survives a power cut.
// A temporary file left behind by a killed run is removed by the next write of
// the same name (each writer holds an advisory lock on its temporary file while
// it writes, so a live writer's file is never taken). Lock gives one writer per
// file across processes (checkpoints use it).
//
// Every file onnxdigits writes (checkpoints, ONNX exports, CSVs, PNGs, reports)
// goes through this package; nothing else calls os.Rename.
package atomicfile
