# Reference values for the paired tests (Wilcoxon signed-rank, Hodges-Lehmann).
# Run as: Rscript tests/reference/paired.R   (writes paired_data.csv and paired_r.csv here)
suppressMessages(library(coin))
args <- commandArgs(trailingOnly = FALSE)
source(file.path(dirname(normalizePath(sub("--file=", "", args[grep("--file=", args)]))), "_common.R"))
script <- "paired.R"

datasets <- list(
  ties_zeros = list(before = c(8, 6, 7, 5, 9, 4, 6, 7, 3, 5, 8, 6, 7, 5),
                    after  = c(6, 6, 5, 4, 7, 4, 5, 7, 4, 3, 6, 5, 6, 5)),
  continuous = list(before = c(12.1, 15.3, 9.8, 20.4, 17.7, 11.2, 14.9, 18.3, 10.5, 13.6, 16.2, 19.9),
                    after  = c(10.4, 15.9, 7.0, 16.3, 17.05, 8.0, 12.95, 14.2, 10.35, 9.8, 15.45, 14.6)),
  signed_ties = list(before = rep(10, 12),
                     after  = 10 + c(-3, 3, -1, 2, 2, -2, 0, 0, 5, -4, 1, 1)),
  n2 = list(before = c(3, 5), after = c(1, 6)),
  n1 = list(before = c(4), after = c(2)),
  all_zero = list(before = c(1, 2, 3), after = c(1, 2, 3)),
  missing = list(before = c(2.5, 3.1, NA, 4.0, 5.2, 1.9, 3.3, 2.2, 4.4, 3.9),
                 after  = c(1.0, 3.4, 2.0, 2.1, 4.0, 0.4, NA, 1.5, 2.2, 4.6))
)

data_rows <- do.call(rbind, lapply(names(datasets), function(nm) {
  d <- datasets[[nm]]
  data.frame(dataset = nm, id = seq_along(d$before), before = d$before, after = d$after)
}))
write_ref(data_rows, "paired_data.csv", script)

rows <- list()
add <- function(...) rows[[length(rows) + 1]] <<- data.frame(...)
for (nm in names(datasets)) {
  d <- datasets[[nm]]
  ok <- complete.cases(d$before, d$after)
  b <- d$before[ok]; a <- d$after[ok]
  # ties = "exact": R's default digits.rank = Inf, differences tie only as identical doubles
  # (ipafstudy tie_decimals=None); ties = "decimal": digits.rank = 7, differences equal as written
  # numbers tie (ipafstudy's default tie_decimals=10 on these 2-decimal data).
  for (digits in c(Inf, 7)) {
    for (corr in c(FALSE, TRUE)) {
      res <- tryCatch(suppressWarnings(wilcox.test(a, b, paired = TRUE, exact = FALSE, correct = corr,
                                                   digits.rank = digits)),
                      error = function(e) NULL)
      add(dataset = nm,
          call = sprintf("wilcox.test(after, before, paired=TRUE, exact=FALSE, correct=%s, digits.rank=%s)",
                         corr, digits),
          zero_method = "wilcox", continuity = corr, method = "asymptotic",
          ties = if (is.infinite(digits)) "exact" else "decimal",
          v = if (is.null(res)) NA else unname(res$statistic), z = NA,
          p = if (is.null(res)) NA else res$p.value)
    }
  }
  frame <- data.frame(a = a, b = b)
  for (zm in c("Wilcoxon", "Pratt")) {
    for (dist in c("asymptotic", "exact")) {
      res <- tryCatch(suppressWarnings(wilcoxsign_test(a ~ b, data = frame, zero.method = zm, distribution = dist)),
                      error = function(e) NULL)
      add(dataset = nm,
          call = sprintf("coin::wilcoxsign_test(after ~ before, zero.method='%s', distribution='%s')", zm, dist),
          zero_method = tolower(zm), continuity = FALSE, method = dist, ties = "exact", v = NA,
          z = if (is.null(res)) NA else unname(statistic(res, type = "standardized")[1]),
          p = if (is.null(res)) NA else as.numeric(pvalue(res)))
    }
  }
}
write_ref(do.call(rbind, rows), "paired_r.csv", script, c("coin"))

# Hodges-Lehmann estimate and exact CI on tie- and zero-free data.
hl <- list()
for (nm in c("continuous")) {
  d <- datasets[[nm]]
  for (cl in c(0.95, 0.90)) {
    res <- wilcox.test(d$after, d$before, paired = TRUE, exact = TRUE, conf.int = TRUE, conf.level = cl)
    hl[[length(hl) + 1]] <- data.frame(dataset = nm, confidence = cl, estimate = unname(res$estimate),
                                       ci_low = res$conf.int[1], ci_high = res$conf.int[2], v = unname(res$statistic),
                                       p_exact = res$p.value)
  }
}
write_ref(do.call(rbind, hl), "hodges_lehmann_r.csv", script)
