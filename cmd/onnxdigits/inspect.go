package main

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/onnxdigits/onnxdigits/classify"
	"github.com/onnxdigits/onnxdigits/export"
	onnximport "github.com/onnxdigits/onnxdigits/import"
)

func inspectCommand() *cli.Command {
	return &cli.Command{
		Name:      "inspect",
		Usage:     "summarize an ONNX file: inputs, outputs, nodes, parameters, metadata",
		ArgsUsage: "model.onnx",
		Description: `Prints a Netron-like summary of any ONNX model: IR version, opsets and
   producer; inputs and outputs with shapes; each node with its op, inputs, outputs
   and attributes; each initializer with its element count, and the total; the
   metadata; then how predict, eval, verify and serve feed it (input layout, size,
   pixel range, batch, the output holding the class scores and what it holds), or
   why they cannot run it. Files over 512 MiB and bytes that are not an ONNX model
   are errors.

   Example:
     onnxdigits inspect model.onnx`,
		Action: runInspect,
	}
}

func runInspect(c *cli.Context) error {
	if c.NArg() != 1 {
		return badUsage("inspect takes one argument, the ONNX file to read (got %d)", c.NArg())
	}
	mp, err := onnximport.ReadProtoFile(c.Args().First(), onnximport.Options{})
	if err != nil {
		return err
	}
	if err := export.Describe(c.App.Writer, mp); err != nil {
		return err
	}
	// How predict, eval, verify and serve would feed it, or why they cannot.
	fmt.Fprintln(c.App.Writer, "\nas a classifier (predict, eval, verify, serve)")
	m, err := classify.Open(c.Args().First(), classify.Options{})
	if err != nil {
		fmt.Fprintf(c.App.Writer, "  cannot run: %v\n", err)
		return nil
	}
	defer m.Close()
	fmt.Fprintf(c.App.Writer, "  %s\n", describeInput(m.Info()))
	if note := m.Info().BatchNote; note != "" {
		fmt.Fprintf(c.App.Writer, "  not re-batched: %s\n", note)
	}
	return nil
}
