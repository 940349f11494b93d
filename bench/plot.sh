#!/bin/sh
# plot.sh RESULTS_DIR — draws RESULTS_DIR/ratio.png from the summary.tsv that
# bench/run.sh (through report.py) wrote: one group of bars per workload and
# cache variant, one bar per file system (mmapfs, mergerfs, bindfs), height =
# throughput relative to native (1.0 = as fast as the backing directory).
# Rows without a value for a file system (e.g. durability rows for the
# peers) leave that bar out. Log scale: ratios span 0.01 to >1. Needs
# gnuplot (gnuplot-nox).
set -eu
dir=${1:?usage: plot.sh RESULTS_DIR}
summary=$dir/summary.tsv
[ -f "$summary" ] || { echo "plot.sh: $summary missing" >&2; exit 1; }
data=$dir/ratio.dat
# columns of summary.tsv: row cache unit runs native native_ratio mmapfs
# mmapfs_ratio mergerfs mergerfs_ratio bindfs bindfs_ratio
awk -F'\t' 'NR > 1 {
	m = $8 == "" ? "-" : $8; g = $10 == "" ? "-" : $10; b = $12 == "" ? "-" : $12
	printf "%s/%s\t%s\t%s\t%s\n", $1, $2, m, g, b
}' "$summary" >"$data"
n=$(wc -l <"$data")
width=$((300 + n * 28))
gnuplot <<GNUPLOT
set terminal pngcairo size $width,650 noenhanced font "sans,10"
set output "$dir/ratio.png"
set title "Throughput relative to native, medians ($(grep -h '^date:' "$dir/machine.txt" 2>/dev/null | sed 's/"//g'))"
set datafile separator "\t"
set datafile missing "-"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.9 border -1
set boxwidth 0.9
set ylabel "ratio to native (log scale)"
set logscale y
set yrange [0.005:*]
set bmargin 9
set rmargin 8
set grid ytics
set xtics rotate by -50 scale 0
set key top right
set arrow from graph 0, first 1 to graph 1, first 1 nohead dashtype 2 lc rgb "black"
plot "$data" using 2:xtic(1) title "mmapfs" lc rgb "#1b9e77", \
     "" using 3 title "mergerfs" lc rgb "#d95f02", \
     "" using 4 title "bindfs" lc rgb "#7570b3"
GNUPLOT
