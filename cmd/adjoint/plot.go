package main

import (
	"fmt"
	"image/color"
	"os"
	"path/filepath"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

var plotFormats = []string{"png", "svg", "pdf", "jpg", "jpeg", "tif", "tiff", "eps"}

func plotFormat(path string) string {
	return strings.ToLower(strings.TrimPrefix(filepath.Ext(path), "."))
}

func checkPlotFormat(path string) error {
	f := plotFormat(path)
	for _, ok := range plotFormats {
		if f == ok {
			return nil
		}
	}
	return fmt.Errorf("%s: unknown image format %q (want one of %s)", path, f, strings.Join(plotFormats, ", "))
}

// writePlot draws the loss per epoch and, below it, the accuracy (or the
// test R²) per epoch, and writes the image atomically.
func writePlot(path string, hist []epochStats, classify bool) error {
	line := func(p *plot.Plot, name string, f func(epochStats) float64, dash bool, i int) error {
		pts := make(plotter.XYs, len(hist))
		for j, s := range hist {
			pts[j] = plotter.XY{X: float64(s.Epoch), Y: f(s)}
		}
		l, err := plotter.NewLine(pts)
		if err != nil {
			return err
		}
		l.Color = plotColors[i%len(plotColors)]
		l.Width = vg.Points(1.5)
		if dash {
			l.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
		}
		p.Add(l)
		p.Legend.Add(name, l)
		return nil
	}
	top := plot.New()
	top.Title.Text = "loss per epoch"
	top.X.Label.Text = "epoch"
	top.Y.Label.Text = "loss"
	top.Legend.Top = true
	bottom := plot.New()
	bottom.X.Label.Text = "epoch"
	bottom.Legend.Top = true
	bottom.Legend.Left = true
	errs := []error{
		line(top, "train", func(s epochStats) float64 { return s.TrainLoss }, false, 0),
		line(top, "test", func(s epochStats) float64 { return s.TestLoss }, true, 1),
	}
	if classify {
		bottom.Title.Text = "accuracy per epoch"
		bottom.Y.Label.Text = "accuracy (%)"
		errs = append(errs,
			line(bottom, "train", func(s epochStats) float64 { return 100 * s.TrainAcc }, false, 0),
			line(bottom, "test", func(s epochStats) float64 { return 100 * s.TestAcc }, true, 1))
	} else {
		bottom.Title.Text = "test R² per epoch"
		bottom.Y.Label.Text = "R²"
		errs = append(errs, line(bottom, "test", func(s epochStats) float64 { return s.TestR2 }, true, 1))
	}
	for _, err := range errs {
		if err != nil {
			return fmt.Errorf("plot: %w", err)
		}
	}
	const w, h = 6 * vg.Inch, 7 * vg.Inch
	c, err := draw.NewFormattedCanvas(w, h, plotFormat(path))
	if err != nil {
		return fmt.Errorf("plot %s: %w", path, err)
	}
	dc := draw.New(c)
	tiles := draw.Tiles{Rows: 2, Cols: 1, PadX: vg.Millimeter, PadY: 4 * vg.Millimeter, PadTop: 2 * vg.Millimeter, PadBottom: 2 * vg.Millimeter, PadLeft: 2 * vg.Millimeter, PadRight: 4 * vg.Millimeter}
	plots := [][]*plot.Plot{{top}, {bottom}}
	canvases := plot.Align(plots, tiles, dc)
	top.Draw(canvases[0][0])
	bottom.Draw(canvases[1][0])
	return writeAtomic(path, func(f *os.File) error {
		_, err := c.WriteTo(f)
		return err
	})
}

// writeAtomic writes a file under a temporary name in the same directory
// and renames it into place, so that a failure leaves no partial file.
func writeAtomic(path string, write func(*os.File) error) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err = write(f); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err = f.Chmod(0o644); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err = os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

var plotColors = []color.Color{
	color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff},
	color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff},
}
