# Reference values for k independent groups: Kruskal-Wallis, pairwise Mann-Whitney with Holm, and pairwise
# chi-square / Fisher tests of the rows of a groups x categories table with Holm.
# Run as: Rscript tests/reference/groups_k.R
#   (writes groups_k_data.csv, kruskal_r.csv, pairwise_wilcox_r.csv, pairwise_tables_r.csv here)
suppressMessages(library(coin))
args <- commandArgs(trailingOnly = FALSE)
source(file.path(dirname(normalizePath(sub("--file=", "", args[grep("--file=", args)]))), "_common.R"))
script <- "groups_k.R"

samples <- list(
  ties3 = list(a = c(-3, -2, -2, -1, 0, 0, 1, -4, -2), b = c(-1, 0, 0, 1, 2, -1, 0, 3),
               c = c(0, 1, 1, 2, 2, 3, -1)),
  no_ties4 = list(a = c(1.1, 2.5, 3.7, 0.4, 5.2), b = c(4.8, 6.3, 7.9, 3.9, 8.6, 9.1),
                  c = c(2.2, 3.1, 0.9, 4.4), d = c(10.5, 7.7, 6.6, 12.1, 5.5)),
  size1 = list(a = c(3, 5, 7, 7, 9), b = c(4), c = c(1, 2, 2, 6)),
  missing = list(a = c(2, NA, 5, 3, 3, 7, NA), b = c(6, 8, 8, NA, 9, 4), c = c(NA, 1, 2, 2)),
  empty_level = list(a = c(1, 4, 2, 8), b = c(5, 6, 9, 9), c = c(NA, NA)),
  n2 = list(a = c(1), b = c(2)),
  two_groups = list(a = c(-2, -1, -3, 0, -2, -1, -4, 0, -1, -2, -3, -1, 0, -2, -1),
                    b = c(-1, 0, -2, 0, 1, -1, 0, -1, 0, -2, 0, 1, -1, 0, 0, -1, 2, 0)),
  clinical5 = list(a = c(-6.1, -2.0, 0.5, -3.3, -1.2, -8.0, 2.1), b = c(1.5, 0.0, 3.2, -0.4, 2.2, 4.8),
                   c = c(-1.0, -0.4, 0.0, 0.0, 1.1), d = c(-3.0, -4.4, -2.2, -5.1), e = c(0.3, 6.0, 2.5)),
  all_equal = list(a = c(2, 2, 2), b = c(2, 2), c = c(2, 2, 2, 2))
)
frame_of <- function(s) do.call(rbind, lapply(names(s), function(g) data.frame(group = g, value = s[[g]])))
data_rows <- do.call(rbind, lapply(names(samples), function(nm) cbind(dataset = nm, frame_of(samples[[nm]]))))
write_ref(data_rows, "groups_k_data.csv", script)

krows <- lapply(names(samples), function(nm) {
  f <- frame_of(samples[[nm]])
  kw <- suppressWarnings(kruskal.test(value ~ factor(group), data = f))
  ok <- f[!is.na(f$value), ]
  ok$group <- factor(ok$group)
  ck <- tryCatch(statistic(kruskal_test(value ~ group, data = ok)), error = function(e) NA)
  data.frame(dataset = nm, call = "kruskal.test(value ~ group)", h = unname(kw$statistic),
             dof = unname(kw$parameter), p = kw$p.value, coin_h = unname(ck))
})
write_ref(do.call(rbind, krows), "kruskal_r.csv", script, c("coin"))

prows <- list()
for (nm in names(samples)) {
  if (nm == "all_equal") next  # wilcox.test gives NaN; our all-equal convention is tested by hand
  f <- frame_of(samples[[nm]])
  f <- f[!is.na(f$value), ]
  g <- factor(f$group)  # levels with no value are dropped (R's wilcox.test would stop on an empty group)
  pw <- suppressWarnings(pairwise.wilcox.test(f$value, g, p.adjust.method = "holm", exact = FALSE, correct = FALSE))
  raw <- suppressWarnings(pairwise.wilcox.test(f$value, g, p.adjust.method = "none", exact = FALSE, correct = FALSE))
  lv <- levels(g)
  for (i in seq_along(lv)) for (j in seq_along(lv)) if (i < j) {
    prows[[length(prows) + 1]] <- data.frame(
      dataset = nm, group1 = lv[i], group2 = lv[j],
      call = "pairwise.wilcox.test(value, group, p.adjust.method='holm', exact=FALSE, correct=FALSE)",
      p = raw$p.value[lv[j], lv[i]], p_holm = pw$p.value[lv[j], lv[i]])
  }
}
write_ref(do.call(rbind, prows), "pairwise_wilcox_r.csv", script)

# groups (rows) x categories (columns)
tables <- list(
  t3x2 = matrix(c(12, 30, 20, 18, 5, 15), 3),
  t3x3 = matrix(c(5, 10, 3, 8, 2, 6, 3, 7, 4), 3),
  t4x3 = matrix(c(6, 2, 4, 1, 3, 5, 2, 6, 1, 4, 6, 2), 4),
  t3x2_one_column_pair = matrix(c(10, 8, 5, 0, 0, 5), 3),
  t3x2_empty_group = matrix(c(10, 0, 5, 2, 0, 5), 3),
  t3x4_large = matrix(c(20, 25, 30, 15, 12, 25, 10, 30, 15, 22, 18, 28), 3)
)
trows <- list()
for (nm in names(tables)) {
  m <- tables[[nm]]
  pairs <- combn(nrow(m), 2)
  res <- lapply(seq_len(ncol(pairs)), function(k) {
    sub <- m[pairs[, k], , drop = FALSE]
    # as compare_categorical: empty rows/columns dropped; less than 2 x 2 left -> not computed (NA)
    sub <- sub[rowSums(sub) > 0, colSums(sub) > 0, drop = FALSE]
    if (nrow(sub) < 2 || ncol(sub) < 2) return(data.frame(test = NA, chi2 = NA, chi2_p = NA, fisher_p = NA, p = NA))
    ch <- suppressWarnings(chisq.test(sub, correct = FALSE))
    fi <- fisher.test(sub)
    test <- if (min(ch$expected) < 5) "fisher" else "pearson"
    data.frame(test = test, chi2 = unname(ch$statistic), chi2_p = ch$p.value, fisher_p = fi$p.value,
               p = if (test == "fisher") fi$p.value else ch$p.value)
  })
  res <- do.call(rbind, res)
  res$p_holm <- p.adjust(res$p, method = "holm")
  trows[[nm]] <- cbind(dataset = nm, nrow = nrow(m), cells = paste(as.vector(t(m)), collapse = " "),
                       group1 = pairs[1, ], group2 = pairs[2, ], res)
}
write_ref(do.call(rbind, trows), "pairwise_tables_r.csv", script)
