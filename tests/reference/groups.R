# Reference values for two independent groups: Mann-Whitney U, Pearson chi-square, Fisher's exact.
# Run as: Rscript tests/reference/groups.R   (writes groups_data.csv, mann_whitney_r.csv, tables_r.csv here)
suppressMessages(library(coin))
args <- commandArgs(trailingOnly = FALSE)
source(file.path(dirname(normalizePath(sub("--file=", "", args[grep("--file=", args)]))), "_common.R"))
script <- "groups.R"

samples <- list(
  ties = list(x = c(-3, -2, -2, -1, 0, 0, 1, -4, -2), y = c(-1, 0, 0, 1, 2, -1, 0, 3)),
  no_ties = list(x = c(1.1, 2.5, 3.7, 0.4, 5.2), y = c(4.8, 6.3, 7.9, 3.9, 8.6, 9.1)),
  missing = list(x = c(2, NA, 5, 3, 3, 7, NA), y = c(6, 8, 8, NA, 9, 4)),
  n1_each = list(x = c(1), y = c(2)),
  clinical = list(x = c(-2, -1, -3, 0, -2, -1, -4, 0, -1, -2, -3, -1, 0, -2, -1),
                  y = c(-1, 0, -2, 0, 1, -1, 0, -1, 0, -2, 0, 1, -1, 0, 0, -1, 2, 0))
)
data_rows <- do.call(rbind, lapply(names(samples), function(nm) {
  s <- samples[[nm]]
  rbind(data.frame(dataset = nm, group = "x", value = s$x), data.frame(dataset = nm, group = "y", value = s$y))
}))
write_ref(data_rows, "groups_data.csv", script)

rows <- list()
add <- function(...) rows[[length(rows) + 1]] <<- data.frame(...)
for (nm in names(samples)) {
  x <- samples[[nm]]$x; y <- samples[[nm]]$y
  x <- x[!is.na(x)]; y <- y[!is.na(y)]
  for (corr in c(FALSE, TRUE)) {
    res <- suppressWarnings(wilcox.test(x, y, exact = FALSE, correct = corr))
    add(dataset = nm, call = sprintf("wilcox.test(x, y, exact=FALSE, correct=%s)", corr), method = "asymptotic",
        continuity = corr, w = unname(res$statistic), z = NA, p = res$p.value)
  }
  frame <- data.frame(v = c(x, y), g = factor(rep(c("x", "y"), c(length(x), length(y)))))
  res <- suppressWarnings(wilcox_test(v ~ g, data = frame, distribution = "exact"))
  add(dataset = nm, call = "coin::wilcox_test(value ~ group, distribution='exact')", method = "exact",
      continuity = FALSE, w = NA, z = unname(statistic(res, type = "standardized")[1]), p = as.numeric(pvalue(res)))
}
write_ref(do.call(rbind, rows), "mann_whitney_r.csv", script, c("coin"))

tables <- list(
  t2x2_small = matrix(c(6, 1, 2, 4), 2),
  t2x2_large = matrix(c(20, 15, 12, 25), 2),
  t2x3 = matrix(c(3, 0, 1, 4, 2, 1), 2),
  t3x3 = matrix(c(5, 10, 3, 8, 2, 6, 3, 7, 4), 3),
  t2x4 = matrix(c(2, 5, 7, 1, 3, 3, 0, 4), 2),
  t3x2_zero_row = matrix(c(4, 0, 6, 3, 0, 9), 3),
  t3x5 = matrix(c(3, 2, 1, 6, 4, 5, 8, 4, 2, 7, 3, 6, 4, 2, 3), 3),
  t4x3 = matrix(c(6, 2, 4, 1, 3, 5, 2, 6, 1, 4, 6, 2), 4),
  t3x3_diagonal = matrix(c(5, 0, 0, 0, 5, 0, 0, 0, 5), 3)
)
trows <- lapply(names(tables), function(nm) {
  m <- tables[[nm]]
  used <- m[rowSums(m) > 0, colSums(m) > 0, drop = FALSE]
  ch <- suppressWarnings(chisq.test(used, correct = FALSE))
  fi <- fisher.test(used, workspace = 2e7)
  data.frame(dataset = nm, nrow = nrow(m), cells = paste(as.vector(t(m)), collapse = " "),
             chi2 = unname(ch$statistic), dof = unname(ch$parameter), chi2_p = ch$p.value,
             min_expected = min(ch$expected), fisher_p = fi$p.value)
})
write_ref(do.call(rbind, trows), "tables_r.csv", script)
