package bench

import (
	"fmt"
	"image/color"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// OrderPlotPath is where the order-of-computation chart goes for a --plot
// path: out.png → out-order.png.
func OrderPlotPath(path string) string {
	ext := filepath.Ext(path)
	return strings.TrimSuffix(path, ext) + "-order" + ext
}

// PlotRatios draws a horizontal bar chart of our time over PyTorch's for
// every row that has a PyTorch time, with a dashed line at 1 (parity).
// Without any PyTorch time (peers off or unavailable) it charts our GFLOP/s
// instead. Each device's bars have their own colour (a merged chart, from
// --from, holds CPU and GPU rows); where some rows have a PyTorch time,
// rows without one (a run made without peers) have no bar. The format
// follows the file extension (.png, .svg, .pdf).
func PlotRatios(path string, rows []Row) error {
	var names, devs []string
	var vals plotter.Values
	for _, r := range rows {
		if q := r.TorchRatio(); q > 0 {
			names = append(names, r.Device+" "+r.Config.Name)
			devs = append(devs, r.Device)
			vals = append(vals, q)
		}
	}
	title, label, parity := "Time relative to PyTorch (same machine, same run; < 1 is faster)", "our median time / PyTorch median time", true
	if len(vals) == 0 {
		for _, r := range rows {
			if g := r.GFlops(); g > 0 {
				names = append(names, r.Device+" "+r.Config.Name)
				devs = append(devs, r.Device)
				vals = append(vals, g)
			}
		}
		title, label, parity = "Throughput (no PyTorch times in this run)", "GFLOP/s at the median", false
	}
	if len(vals) == 0 {
		return fmt.Errorf("bench: --plot %s: no row to chart", path)
	}
	// Top to bottom in table order.
	slices.Reverse(vals)
	slices.Reverse(names)
	slices.Reverse(devs)
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = label
	p.Add(plotter.NewGrid())
	if err := addDeviceBars(p, vals, devs); err != nil {
		return err
	}
	hi := slices.Max(vals)
	if parity {
		hi = max(hi, 1)
		line, err := plotter.NewLine(plotter.XYs{{X: 1, Y: -0.5}, {X: 1, Y: float64(len(vals)) - 0.5}})
		if err != nil {
			return fmt.Errorf("bench: plot: %w", err)
		}
		line.Color = color.RGBA{R: 200, A: 255}
		line.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
		p.Add(line)
	}
	p.X.Min, p.X.Max = 0, hi*1.05
	p.NominalY(names...)
	h := vg.Length(len(vals))*vg.Points(13) + vg.Inch
	if err := p.Save(9*vg.Inch, h, path); err != nil {
		return fmt.Errorf("bench: saving %s: %w", path, err)
	}
	return nil
}

// barColors colour the bars of each device, in the order the devices
// first appear; merged reports (--from) put CPU and GPU rows in one chart.
var barColors = []color.Color{
	color.RGBA{R: 70, G: 110, B: 180, A: 255},
	color.RGBA{R: 60, G: 150, B: 80, A: 255},
	color.RGBA{R: 200, G: 120, B: 40, A: 255},
	color.RGBA{R: 130, G: 80, B: 160, A: 255},
}

// addDeviceBars adds horizontal bars for vals, one bar chart (one colour)
// per device, each with zero-length bars in the other devices' places so
// that all share the rows of the nominal axis. The row labels name the
// device, so there is no legend (which would cover the longest bars).
func addDeviceBars(p *plot.Plot, vals plotter.Values, devs []string) error {
	var order []string
	for _, d := range slices.Backward(devs) {
		if !slices.Contains(order, d) {
			order = append(order, d)
		}
	}
	for i, d := range order {
		mine := make(plotter.Values, len(vals))
		for j := range vals {
			if devs[j] == d {
				mine[j] = vals[j]
			}
		}
		bars, err := plotter.NewBarChart(mine, vg.Points(9))
		if err != nil {
			return fmt.Errorf("bench: plot: %w", err)
		}
		bars.Horizontal = true
		bars.Color = barColors[i%len(barColors)]
		bars.LineStyle.Width = 0
		p.Add(bars)
	}
	return nil
}

// PlotOrder draws time per sample against N on log–log axes for both
// orders of computation on each device, with the fitted power laws.
func PlotOrder(path string, sums []*OrderSummary) error {
	p := plot.New()
	p.Title.Text = "Order of computation: gradient of a chain of dense tanh layers"
	p.X.Label.Text = "layer width N"
	p.Y.Label.Text = "seconds per sample"
	p.X.Scale, p.Y.Scale = plot.LogScale{}, plot.LogScale{}
	p.X.Tick.Marker, p.Y.Tick.Marker = logTicks{}, logTicks{}
	p.Legend.Top, p.Legend.Left = false, false
	p.Legend.YOffs = vg.Points(10)
	p.Add(plotter.NewGrid())
	colors := []color.Color{color.RGBA{R: 30, G: 100, B: 200, A: 255}, color.RGBA{R: 210, G: 60, B: 40, A: 255}}
	drawn := 0
	for di, s := range sums {
		if len(s.N) < 2 {
			continue
		}
		for oi, series := range []struct {
			label string
			ys    []float64
			fit   [2]float64
		}{
			{"right to left (back propagation)", s.RTL, s.rtlFit},
			{"left to right (Jacobian products)", s.LTR, s.ltrFit},
		} {
			pts := make(plotter.XYs, len(s.N))
			fit := make(plotter.XYs, len(s.N))
			for i, n := range s.N {
				pts[i] = plotter.XY{X: float64(n), Y: series.ys[i]}
				fit[i] = plotter.XY{X: float64(n), Y: math.Exp(series.fit[1]) * math.Pow(float64(n), series.fit[0])}
			}
			sc, err := plotter.NewScatter(pts)
			if err != nil {
				return fmt.Errorf("bench: plot: %w", err)
			}
			c := colors[oi]
			sc.Color = c
			sc.Shape = draw.CircleGlyph{}
			if di > 0 {
				sc.Shape = draw.BoxGlyph{}
			}
			ln, err := plotter.NewLine(fit)
			if err != nil {
				return fmt.Errorf("bench: plot: %w", err)
			}
			ln.Color = c
			if di > 0 {
				ln.Dashes = []vg.Length{vg.Points(5), vg.Points(3)}
			}
			p.Add(sc, ln)
			p.Legend.Add(fmt.Sprintf("%s, %s: slope %.2f", s.Device, series.label, series.fit[0]), sc, ln)
			drawn++
		}
		if di == 0 {
			// The operation counts' power laws N² and N³, through the last points.
			last := len(s.N) - 1
			x0, x1 := float64(s.N[0]), float64(s.N[last])
			for _, g := range []struct {
				y    float64
				pow  float64
				name string
			}{{s.RTL[last], 2, "N² (operation count, right to left)"}, {s.LTR[last], 3, "N³ (operation count, left to right)"}} {
				ref, err := plotter.NewLine(plotter.XYs{{X: x0, Y: g.y * math.Pow(x0/x1, g.pow)}, {X: x1, Y: g.y}})
				if err != nil {
					return fmt.Errorf("bench: plot: %w", err)
				}
				ref.Color = color.Gray{Y: 150}
				ref.Dashes = []vg.Length{vg.Points(2), vg.Points(3)}
				p.Add(ref)
				p.Legend.Add(g.name, ref)
			}
			p.X.Min, p.X.Max = x0/1.15, x1*1.15
		}
	}
	if drawn == 0 {
		return fmt.Errorf("bench: --plot %s: the order-of-computation benchmark did not run (see --only)", path)
	}
	if err := p.Save(7*vg.Inch, 5*vg.Inch, path); err != nil {
		return fmt.Errorf("bench: saving %s: %w", path, err)
	}
	return nil
}

// logTicks is plot.LogTicks with short labels (1e-05, 0.001, 100, 1000),
// free of binary-fraction artefacts.
type logTicks struct{}

func (logTicks) Ticks(lo, hi float64) []plot.Tick {
	ts := plot.LogTicks{}.Ticks(lo, hi)
	for i := range ts {
		if ts[i].Label != "" {
			v := ts[i].Value
			if v >= 1e-3 && v < 1e6 {
				ts[i].Label = strconv.FormatFloat(v, 'f', -1, 64)
			} else {
				ts[i].Label = strconv.FormatFloat(v, 'g', 3, 64)
			}
		}
	}
	return ts
}
