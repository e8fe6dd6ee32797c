# Table 1 split by subgroup, recomputed by R from a small constructed dataset (issue 11 item 4).
#
# Run as: Rscript tests/reference/table1.R
#   input : tests/reference/table1_data.csv (24 patients: MSA 10, MAA 9, neither 3, no group 2; ties, blanks)
#   output: table1_r_summary.csv (quartiles type 6 per column), table1_r_counts.csv (n / known per level and the
#           unknown count), table1_r_tests.csv (the test of each row)
# Conventions (ipafstudy defaults, spelled out in the calls):
#   quartiles: quantile(type = 6); continuous rows, two groups: wilcox.test(exact = FALSE, correct = FALSE) (W = U1
#   of the first group); three groups: kruskal.test; 0/1 and categorical rows: the groups x levels table of the KNOWN
#   values, empty rows/columns dropped, chisq.test(correct = FALSE) unless an expected count is below 5, then
#   fisher.test (Freeman-Halton for r x c). Follow-up in months = days / (365.25 / 12).
args <- commandArgs(trailingOnly = FALSE)
source(file.path(dirname(normalizePath(sub("--file=", "", args[grep("--file=", args)]))), "_common.R"))
script <- "table1.R"

d <- read.csv(file.path(ref_dir, "table1_data.csv"), na.strings = "", stringsAsFactors = FALSE)
d$exposure_months <- d$exposure_days / (365.25 / 12)
d$follow_up_months <- as.numeric(as.Date(d$hrct_total_follow_up_date) - as.Date(d$exposure_start_date)) / (365.25 / 12)
groups <- c("MSA", "MAA")
cols <- list(all = rep(TRUE, nrow(d)), MSA = d$antibody_group %in% "MSA", MAA = d$antibody_group %in% "MAA")

summary_rows <- list()
for (v in c("age_at_start", "tacrolimus_trough_median", "exposure_months", "follow_up_months")) {
  for (cn in names(cols)) {
    x <- d[[v]][cols[[cn]]]
    x <- x[!is.na(x)]
    q <- quantile(x, c(0.25, 0.5, 0.75), type = 6, names = FALSE)
    summary_rows[[length(summary_rows) + 1]] <- data.frame(variable = v, column = cn, n = length(x),
                                                           q1 = q[1], median = q[2], q3 = q[3])
  }
}
write_ref(do.call(rbind, summary_rows), "table1_r_summary.csv", script)

count_rows <- list()
levels_of <- list(sex = c("male", "female"), ever_smoker = c("1"),
                  hrct_pattern = c("nsip", "op", "nsip_op", "lip", "uip", "other"))
for (v in names(levels_of)) {
  for (cn in names(cols)) {
    x <- as.character(d[[v]][cols[[cn]]])
    known <- sum(!is.na(x))
    for (lv in levels_of[[v]]) {
      count_rows[[length(count_rows) + 1]] <- data.frame(variable = v, level = lv, column = cn,
                                                         n = sum(x %in% lv), denominator = known)
    }
    count_rows[[length(count_rows) + 1]] <- data.frame(variable = v, level = "unknown", column = cn,
                                                       n = sum(is.na(x)), denominator = length(x))
  }
}
write_ref(do.call(rbind, count_rows), "table1_r_counts.csv", script)

auto_test <- function(v) {
  sub <- d[d$antibody_group %in% groups & !is.na(d[[v]]), ]
  tab <- table(factor(sub$antibody_group, levels = groups), as.character(sub[[v]]))
  tab <- tab[rowSums(tab) > 0, colSums(tab) > 0, drop = FALSE]
  expected <- suppressWarnings(chisq.test(tab, correct = FALSE))$expected
  if (min(expected) < 5) {
    data.frame(variable = v, test = "fisher", statistic = NA, p = fisher.test(tab)$p.value, n = sum(tab))
  } else {
    ch <- chisq.test(tab, correct = FALSE)
    data.frame(variable = v, test = "pearson", statistic = unname(ch$statistic), p = ch$p.value, n = sum(tab))
  }
}
rank_test <- function(v) {
  x <- d[[v]][cols$MSA]
  y <- d[[v]][cols$MAA]
  w <- wilcox.test(x, y, exact = FALSE, correct = FALSE)
  data.frame(variable = v, test = "mann_whitney", statistic = unname(w$statistic), p = w$p.value,
             n = sum(!is.na(x)) + sum(!is.na(y)))
}
three <- d[d$antibody_group %in% c("MSA", "MAA", "neither") & !is.na(d$age_at_start), ]
kw <- kruskal.test(three$age_at_start, factor(three$antibody_group, levels = c("MSA", "MAA", "neither")))
tests <- rbind(
  do.call(rbind, lapply(c("age_at_start", "tacrolimus_trough_median", "exposure_months", "follow_up_months"),
                        rank_test)),
  do.call(rbind, lapply(c("sex", "ever_smoker", "hrct_pattern"), auto_test)),
  data.frame(variable = "age_at_start_3_groups", test = "kruskal_wallis", statistic = unname(kw$statistic),
             p = kw$p.value, n = nrow(three))
)
write_ref(tests, "table1_r_tests.csv", script)
