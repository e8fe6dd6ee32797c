# Reference values for inter-reader agreement: psych::ICC (Shrout & Fleiss) and weighted kappa.
# Run as: Rscript tests/reference/agreement.R   (writes icc_data.csv, icc_r.csv, kappa_data.csv, kappa_r.csv)
suppressMessages(library(psych))
args <- commandArgs(trailingOnly = FALSE)
source(file.path(dirname(normalizePath(sub("--file=", "", args[grep("--file=", args)]))), "_common.R"))
script <- "agreement.R"

icc_sets <- list(
  shrout_fleiss = data.frame(r1 = c(9, 6, 8, 7, 10, 6), r2 = c(2, 1, 4, 1, 5, 2),
                             r3 = c(5, 3, 6, 2, 6, 4), r4 = c(8, 2, 8, 6, 9, 7)),
  hrct_readers = data.frame(r1 = c(12, 8, 15, 4, 9, 20, 7, 11, 3, 16, 10, NA),
                            r2 = c(11, 9, 14, 5, 9, 18, 8, 12, 4, 15, NA, 6))
)
write_ref(do.call(rbind, lapply(names(icc_sets), function(nm) {
  d <- icc_sets[[nm]]
  long <- data.frame(dataset = nm, subject = rep(seq_len(nrow(d)), ncol(d)), rater = rep(names(d), each = nrow(d)),
                     rating = unlist(d, use.names = FALSE))
  long
})), "icc_data.csv", script)
rows <- lapply(names(icc_sets), function(nm) {
  res <- ICC(na.omit(icc_sets[[nm]]), missing = TRUE, alpha = 0.05, lmer = FALSE)$results  # listwise, as psych advises
  data.frame(dataset = nm, model = c("ICC1_1", "ICC2_1", "ICC3_1", "ICC1_k", "ICC2_k", "ICC3_k"),
             value = res$ICC, f = res$F, df1 = res$df1, df2 = res$df2, p = res$p,
             ci_low = res$`lower bound`, ci_high = res$`upper bound`)
})
write_ref(do.call(rbind, rows), "icc_r.csv", script, c("psych"))

kappa_sets <- list(
  mixed = list(a = c(0, 1, 2, 3, 4, 2, 1, 0, 3, 4, 2, 2, 1, 3), b = c(0, 2, 2, 3, 3, 1, 1, 0, 4, 4, 2, 3, 0, 3)),
  with_missing = list(a = c(1, 2, NA, 3, 0, 4, 2), b = c(1, 3, 2, NA, 0, 4, 1)),
  sparse_categories = list(a = c(0, 0, 1, 1, 1, 0), b = c(0, 1, 1, 1, 0, 0))
)
write_ref(do.call(rbind, lapply(names(kappa_sets), function(nm) {
  data.frame(dataset = nm, id = seq_along(kappa_sets[[nm]]$a), a = kappa_sets[[nm]]$a, b = kappa_sets[[nm]]$b)
})), "kappa_data.csv", script)
hand_kappa <- function(a, b, levels, type) {
  k <- length(levels)
  tab <- table(factor(a, levels = levels), factor(b, levels = levels)) / length(a)
  d <- abs(outer(seq_len(k), seq_len(k), "-"))
  w <- switch(type, linear = 1 - d / (k - 1), quadratic = 1 - d^2 / (k - 1)^2, unweighted = (d == 0) * 1)
  po <- sum(w * tab); pe <- sum(w * outer(rowSums(tab), colSums(tab)))
  (po - pe) / (1 - pe)
}
krows <- list()
for (nm in names(kappa_sets)) {
  ok <- complete.cases(kappa_sets[[nm]]$a, kappa_sets[[nm]]$b)
  a <- kappa_sets[[nm]]$a[ok]; b <- kappa_sets[[nm]]$b[ok]
  for (type in c("linear", "quadratic", "unweighted")) {
    k <- 5
    d <- abs(outer(seq_len(k), seq_len(k), "-"))
    w <- switch(type, linear = 1 - d / (k - 1), quadratic = 1 - d^2 / (k - 1)^2, unweighted = (d == 0) * 1)
    ck <- cohen.kappa(cbind(a, b), w = w, levels = 0:4)
    krows[[length(krows) + 1]] <- data.frame(dataset = nm, weights = type, n = length(a),
                                             hand = hand_kappa(a, b, 0:4, type),
                                             psych = if (type == "unweighted") ck$kappa else ck$weighted.kappa)
  }
}
write_ref(do.call(rbind, krows), "kappa_r.csv", script, c("psych"))
