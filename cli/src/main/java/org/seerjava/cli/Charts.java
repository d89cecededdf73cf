package org.seerjava.cli;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Paint;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.jfree.chart.ChartUtils;
import org.seerjava.reference.io.AtomicFiles;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.plot.PlotOrientation;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.PaintScale;
import org.jfree.chart.renderer.xy.XYBlockRenderer;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.chart.title.PaintScaleLegend;
import org.jfree.chart.ui.RectangleEdge;
import org.jfree.chart.ui.RectangleInsets;
import org.jfree.data.xy.DefaultXYZDataset;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;

/** PNG pictures of block maps and loss curves, drawn with JFreeChart (headless). */
public final class Charts {
    static {
        System.setProperty("java.awt.headless", "true");
    }

    private Charts() {
    }

    /**
     * A heat map of an {@code nb × nb} block map (row = query block, column = key block) with labelled axes and a
     * colour bar.
     *
     * @param values     row-major {@code [nb, nb]}
     * @param logScale   colour by log10(value) (values ≤ 0 drawn as the bottom colour)
     * @param scaleLabel label of the colour bar
     */
    public static void heatmap(double[] values, int nb, String title, String scaleLabel, boolean logScale, Path png) {
        double[] xs = new double[nb * nb];
        double[] ys = new double[nb * nb];
        double[] zs = new double[nb * nb];
        double lo = Double.POSITIVE_INFINITY;
        double hi = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < nb; i++) {
            for (int j = 0; j < nb; j++) {
                int at = i * nb + j;
                xs[at] = j;
                ys[at] = i;
                double v = values[at];
                zs[at] = logScale ? (v > 0 ? Math.log10(v) : Double.NaN) : v;
                if (!Double.isNaN(zs[at]) && j <= i) {
                    lo = Math.min(lo, zs[at]);
                    hi = Math.max(hi, zs[at]);
                }
            }
        }
        if (!(hi > lo)) {
            hi = lo + 1;
        }
        if (logScale) {
            lo = Math.max(lo, hi - 4);                      // four decades of dynamic range
        }
        DefaultXYZDataset data = new DefaultXYZDataset();
        data.addSeries("map", new double[][]{xs, ys, zs});
        NumberAxis scaleAxis = new NumberAxis(logScale ? "log10 " + scaleLabel : scaleLabel);
        scaleAxis.setRange(lo, hi);
        saveBlockMap(title, data, nb, new Viridis(lo, hi), scaleAxis, png);
    }

    /** The selected blocks of one head: kept (yellow), skipped causal blocks (purple), above the diagonal (white). */
    public static void maskMap(boolean[] kept, int nb, String title, Path png) {
        double[] xs = new double[nb * nb];
        double[] ys = new double[nb * nb];
        double[] zs = new double[nb * nb];
        for (int i = 0; i < nb; i++) {
            for (int j = 0; j < nb; j++) {
                int at = i * nb + j;
                xs[at] = j;
                ys[at] = i;
                zs[at] = j > i ? Double.NaN : kept[at] ? 1 : 0;
            }
        }
        DefaultXYZDataset data = new DefaultXYZDataset();
        data.addSeries("mask", new double[][]{xs, ys, zs});
        PaintScale twoColours = new PaintScale() {
            @Override
            public double getLowerBound() {
                return -0.5;
            }

            @Override
            public double getUpperBound() {
                return 1.5;
            }

            @Override
            public Paint getPaint(double value) {
                return Double.isNaN(value) ? Color.WHITE : value >= 0.5 ? new Color(0xFDE725) : new Color(0x440154);
            }
        };
        NumberAxis legendAxis = new NumberAxis("block");
        legendAxis.setRange(-0.5, 1.5);
        legendAxis.setTickUnit(new org.jfree.chart.axis.NumberTickUnit(1, new java.text.NumberFormat() {
            @Override
            public StringBuffer format(double number, StringBuffer to, java.text.FieldPosition pos) {
                return to.append(Math.round(number) == 1 ? "computed" : Math.round(number) == 0 ? "skipped" : "");
            }

            @Override
            public StringBuffer format(long number, StringBuffer to, java.text.FieldPosition pos) {
                return format((double) number, to, pos);
            }

            @Override
            public Number parse(String source, java.text.ParsePosition pos) {
                return null;
            }
        }));
        saveBlockMap(title, data, nb, twoColours, legendAxis, png);
    }

    /** An nb × nb block map coloured by {@code scale}, its legend on {@code legendAxis} at the right, as a PNG. */
    private static void saveBlockMap(String title, DefaultXYZDataset data, int nb, PaintScale scale,
                                     NumberAxis legendAxis, Path png) {
        XYBlockRenderer renderer = new XYBlockRenderer();
        renderer.setPaintScale(scale);
        XYPlot plot = blockPlot(data, nb, renderer);
        JFreeChart chart = new JFreeChart(title, new Font("SansSerif", Font.BOLD, 14), plot, false);
        PaintScaleLegend legend = new PaintScaleLegend(scale, legendAxis);
        legend.setPosition(RectangleEdge.RIGHT);
        legend.setMargin(new RectangleInsets(10, 10, 10, 10));
        legend.setStripWidth(14);
        chart.addSubtitle(legend);
        chart.setBackgroundPaint(Color.WHITE);
        save(chart, png, 560, 480);
    }

    private static XYPlot blockPlot(DefaultXYZDataset data, int nb, XYBlockRenderer renderer) {
        NumberAxis x = new NumberAxis("key block (64 tokens each)");
        NumberAxis y = new NumberAxis("query block");
        y.setInverted(true);
        for (NumberAxis axis : new NumberAxis[]{x, y}) {
            axis.setRange(-0.5, nb - 0.5);
            axis.setStandardTickUnits(NumberAxis.createIntegerTickUnits());
            axis.setLowerMargin(0);
            axis.setUpperMargin(0);
        }
        XYPlot plot = new XYPlot(data, x, y, renderer);
        plot.setBackgroundPaint(Color.WHITE);
        plot.setDomainGridlinesVisible(false);
        plot.setRangeGridlinesVisible(false);
        return plot;
    }

    /** Loss against step, one line per series. */
    public static void lossCurve(String title, List<String> names, List<double[][]> series, Path png) {
        XYSeriesCollection data = new XYSeriesCollection();
        for (int s = 0; s < names.size(); s++) {
            XYSeries xy = new XYSeries(names.get(s));
            for (double[] point : series.get(s)) {
                xy.add(point[0], point[1]);
            }
            data.addSeries(xy);
        }
        JFreeChart chart = org.jfree.chart.ChartFactory.createXYLineChart(title, "training step",
                "distillation loss (10 × Σ layers KL)", data, PlotOrientation.VERTICAL, true, false, false);
        XYPlot plot = chart.getXYPlot();
        plot.setBackgroundPaint(Color.WHITE);
        plot.setDomainGridlinePaint(Color.LIGHT_GRAY);
        plot.setRangeGridlinePaint(Color.LIGHT_GRAY);
        XYLineAndShapeRenderer r = new XYLineAndShapeRenderer(true, false);
        r.setSeriesStroke(0, new BasicStroke(2f));
        plot.setRenderer(r);
        ((NumberAxis) plot.getRangeAxis()).setAutoRangeIncludesZero(false);
        chart.setBackgroundPaint(Color.WHITE);
        save(chart, png, 640, 400);
    }

    private static void save(JFreeChart chart, Path png, int width, int height) {
        try {
            if (png.getParent() != null) {
                Files.createDirectories(png.getParent());
            }
            AtomicFiles.write(png, (java.io.OutputStream out) -> ChartUtils.writeChartAsPNG(out, chart, width, height));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + png + ": " + e.getMessage(), e);
        }
    }

    /** The viridis colour map (perceptually uniform, colour-blind friendly), NaN drawn white. */
    static final class Viridis implements PaintScale {
        private static final int[] STOPS = {0x440154, 0x482878, 0x3E4989, 0x31688E, 0x26828E, 0x1F9E89, 0x35B779,
                0x6ECE58, 0xB5DE2B, 0xFDE725};
        private final double lo;
        private final double hi;

        Viridis(double lo, double hi) {
            this.lo = lo;
            this.hi = hi;
        }

        @Override
        public double getLowerBound() {
            return lo;
        }

        @Override
        public double getUpperBound() {
            return hi;
        }

        @Override
        public Paint getPaint(double value) {
            if (Double.isNaN(value)) {
                return Color.WHITE;
            }
            double t = Math.clamp((value - lo) / (hi - lo), 0.0, 1.0) * (STOPS.length - 1);
            int i = Math.min((int) t, STOPS.length - 2);
            double f = t - i;
            int a = STOPS[i];
            int b = STOPS[i + 1];
            return new Color(mix(a >> 16, b >> 16, f), mix(a >> 8, b >> 8, f), mix(a, b, f));
        }

        private static int mix(int a, int b, double f) {
            return (int) Math.round((a & 0xFF) * (1 - f) + (b & 0xFF) * f);
        }
    }
}
