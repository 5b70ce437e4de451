package main

import (
	"github.com/urfave/cli/v2"

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
   metadata. Files over 512 MiB and bytes that are not an ONNX model are errors.

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
	return export.Describe(c.App.Writer, mp)
}
