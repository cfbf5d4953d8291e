# latexmk configuration (Perl syntax).
$pdf_mode = 1;            # build PDF with pdflatex
$bibtex_use = 2;          # run bibtex when needed; remove .bbl on full clean
$out_dir = 'build';
$pdflatex = 'pdflatex -interaction=nonstopmode -halt-on-error -file-line-error -synctex=1 %O %S';
