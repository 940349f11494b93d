#!/bin/sh
# plot.sh RESULTS_DIR — draws RESULTS_DIR/ratio.png from the summary.tsv that
# bench/run.sh (through report.py) wrote: one group of bars per workload and
# cache variant, one bar per file system (mmapfs with its defaults and with
# bench/tuned.ini, mergerfs, bindfs), height =
# throughput relative to native (1.0 = as fast as the backing directory).
# Rows without a value for a file system (e.g. durability rows for the
# peers) leave that bar out. Log scale: ratios span 0.01 to >1. Needs
# gnuplot (gnuplot-nox).
set -eu
dir=${1:?usage: plot.sh RESULTS_DIR}
summary=$dir/summary.tsv
[ -f "$summary" ] || { echo "plot.sh: $summary missing" >&2; exit 1; }
data=$dir/ratio.dat
# summary.tsv: row cache unit runs, then TARGET and TARGET_ratio per target;
# columns are found by their header names.
awk -F'\t' -v names="mmapfs mmapfs-tuned mergerfs bindfs" '
NR == 1 {
	k = split(names, want, " ")
	for (i = 1; i <= NF; i++)
		col[$i] = i
	next
}
{
	line = $1 "/" $2
	for (j = 1; j <= k; j++) {
		c = want[j] "_ratio"
		v = (c in col) ? $(col[c]) : ""
		line = line "\t" (v == "" ? "-" : v)
	}
	print line
}' "$summary" >"$data"
if ! awk -F'\t' '{ for (i = 2; i <= NF; i++) if ($i != "-") found = 1 }
		END { exit !found }' "$data"; then
	echo "plot.sh: no ratios to native in $summary (was native measured?); no plot"
	exit 0
fi
n=$(wc -l <"$data")
width=$((300 + n * 36))
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
plot "$data" using 2:xtic(1) title "mmapfs (defaults)" lc rgb "#1b9e77", \
     "" using 3 title "mmapfs (bench/tuned.ini)" lc rgb "#66a61e", \
     "" using 4 title "mergerfs" lc rgb "#d95f02", \
     "" using 5 title "bindfs" lc rgb "#7570b3"
GNUPLOT
