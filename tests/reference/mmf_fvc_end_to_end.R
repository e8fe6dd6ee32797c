# The worked example study `mmf-fvc` (mycophenolate in IPAF, lung-function outcomes) recomputed by R from the
# analysis dataset ipafstudy wrote for it, so the second study's report numbers have an independent check too.
#
# Run as: Rscript tests/reference/mmf_fvc_end_to_end.R
#   input : tests/reference/mmf_fvc_analysis_dataset.csv (copy of analysis_dataset.csv from
#           `ipafstudy synth --example mmf-fvc --out D && ipafstudy analyze D --out O --plan D/analysis_plan.yaml`)
#   output: tests/reference/mmf_fvc_r_paired.csv, mmf_fvc_r_landmark_paired.csv, mmf_fvc_r_spearman.csv,
#           mmf_fvc_r_regression_fit.csv, mmf_fvc_r_table1_continuous.csv, mmf_fvc_r_table1_categorical.csv,
#           mmf_fvc_r_subgroup_changes.csv
# Every output starts with a comment line naming this script, the R and package versions and the md5 of the input
# dataset (tests/analysis/test_mmf_fvc_against_r.py checks it against the committed dataset).
#
# Conventions (SPSS, /work/shared/spec/statistics.md), spelled out in the calls: quartiles quantile(type = 6);
# Wilcoxon signed-rank wilcox.test(exact = FALSE, correct = FALSE) on the differences rounded to 10 decimals
# (ipafstudy's tie_decimals), z with the tie correction, r = |z| / sqrt(n pairs); Mann-Whitney
# wilcox.test(exact = FALSE, correct = FALSE); Kruskal-Wallis kruskal.test; categorical chisq.test(correct = FALSE)
# and fisher.test; Spearman cor.test(exact = FALSE), Holm over the distinct pairs; regression lm, confint.
suppressMessages({library(car)})
args <- commandArgs(trailingOnly = FALSE)
source(file.path(dirname(normalizePath(sub("--file=", "", args[grep("--file=", args)]))), "_common.R"))
script <- "mmf_fvc_end_to_end.R"
pkgs <- c("car")

input <- file.path(ref_dir, "mmf_fvc_analysis_dataset.csv")
input_md5 <- unname(tools::md5sum(input))
write_out <- function(df, file) {
  path <- file.path(ref_dir, file)
  con <- file(path, "w")
  writeLines(paste0(header_line(script, pkgs), "; input mmf_fvc_analysis_dataset.csv md5 ", input_md5), con)
  write.csv(df, con, row.names = FALSE, na = "NA")
  close(con)
}

d <- read.csv(input, colClasses = c(patient_id = "character"), stringsAsFactors = FALSE, na.strings = "")
d <- d[order(d$patient_id, method = "radix"), ]

# The example plan (ipafstudy plan --example mmf-fvc).
outcomes <- c("fvc_ml", "fvc_pct_pred", "dlco_pct_pred", "six_mwd_m", "ldh", "hrct_total")
predictors <- c("fvc_ml_baseline", "hrct_total_baseline", "concomitant_prednisolone", "age_at_start")
subgroup <- "hrct_pattern"
groups <- c("nsip", "nsip_op", "uip")
landmarks <- c(6, 12)  # timepoints.follow_up: landmarks; <o>_follow_up and <o>_change are the 12-month landmark
table1_continuous <- c("age_at_start", paste0(c(outcomes, "neutrophils"), "_baseline"), "exposure_days")
table1_categorical <- c("sex", "smoking", "hrct_pattern", "domain_combination", "concomitant_prednisolone",
                        "nintedanib")

# q6, tie_round and tie_term come from _common.R

# ---- Table 2: Wilcoxon signed-rank, baseline vs follow-up, per outcome ----------------------------------------
paired_row <- function(o, at = "follow_up", change = "change") {
  b_all <- d[[paste0(o, "_baseline")]]
  a_all <- d[[paste0(o, "_", at)]]
  ok <- !is.na(b_all) & !is.na(a_all)
  b <- b_all[ok]; a <- a_all[ok]
  if (length(b) == 0) return(data.frame(outcome = o, n_pairs = 0))
  stopifnot(isTRUE(all.equal(tie_round(a - b), tie_round(d[[paste0(o, "_", change)]][ok]))))
  dd <- tie_round(a - b)
  nz <- dd[dd != 0]
  n <- length(nz)
  res <- wilcox.test(dd, exact = FALSE, correct = FALSE)
  ranks <- rank(abs(nz), ties.method = "average")
  w_plus <- sum(ranks[nz > 0])
  z <- (w_plus - n * (n + 1) / 4) / sqrt(n * (n + 1) * (2 * n + 1) / 24 - tie_term(abs(nz)) / 48)
  qb <- q6(b); qa <- q6(a); qd <- q6(dd)
  # Shapiro-Wilk needs 3 to 5000 values that are not all equal (a landmark with 2 scans has no test)
  sw <- if (length(dd) >= 3 && length(unique(dd)) > 1) { t <- shapiro.test(dd); c(unname(t$statistic), t$p.value) } else c(NA, NA)
  data.frame(outcome = o, n_pairs = length(dd), n_nonzero = n, n_increased = sum(dd > 0),
             n_decreased = sum(dd < 0), n_unchanged = sum(dd == 0), w_plus = unname(res$statistic), z = z,
             p = res$p.value, r = abs(z) / sqrt(length(dd)),
             baseline_q1 = qb[1], baseline_median = qb[2], baseline_q3 = qb[3],
             follow_up_q1 = qa[1], follow_up_median = qa[2], follow_up_q3 = qa[3],
             change_q1 = qd[1], change_median = qd[2], change_q3 = qd[3],
             shapiro_difference_w = sw[1], shapiro_difference_p = sw[2])
}
paired <- do.call(rbind, lapply(outcomes, paired_row))

# ---- Table 2 under landmarks: baseline vs each landmark, Holm across one outcome's landmarks ------------------
bind_rows <- function(rows) {
  cols <- unique(unlist(lapply(rows, names)))
  do.call(rbind, lapply(rows, function(r) { for (c in setdiff(cols, names(r))) r[[c]] <- NA; r[cols] }))
}
lm_rows <- list()
if (!paste0(outcomes[1], "_m", landmarks[1]) %in% names(d)) landmarks <- c()  # a plan without landmarks
for (o in if (length(landmarks)) outcomes else c()) {
  rows_o <- lapply(landmarks, function(m) cbind(month = m, paired_row(o, paste0("m", m), paste0("change_m", m))))
  rows_o <- bind_rows(rows_o)
  rows_o$p_holm <- p.adjust(rows_o$p, method = "holm")
  lm_rows[[length(lm_rows) + 1]] <- rows_o
}
landmark_paired <- if (length(lm_rows)) bind_rows(lm_rows) else data.frame(outcome = character(), month = integer())

# ---- Spearman matrix of the changes (pairwise complete), Holm over the distinct pairs ------------------------
rows <- list()
for (i in seq_along(outcomes)) for (j in seq_along(outcomes)) {
  if (j <= i) next
  x <- d[[paste0(outcomes[i], "_change")]]
  y <- d[[paste0(outcomes[j], "_change")]]
  ok <- !is.na(x) & !is.na(y)
  res <- suppressWarnings(cor.test(tie_round(x[ok]), tie_round(y[ok]), method = "spearman", exact = FALSE))
  rows[[length(rows) + 1]] <- data.frame(var1 = outcomes[i], var2 = outcomes[j], n = sum(ok),
                                         rho = unname(res$estimate), p = res$p.value)
}
spearman <- do.call(rbind, rows)
spearman$p_holm <- p.adjust(spearman$p, method = "holm")

# ---- Table 3: OLS of the FVC change on the planned predictors -------------------------------------------------
frame <- d[, c("fvc_ml_change", predictors)]
fit <- lm(reformulate(predictors, "fvc_ml_change"), data = frame, na.action = na.omit)
mf <- model.frame(fit)
co <- summary(fit)$coefficients
ci <- confint(fit, level = 0.95)
sd_y <- sd(mf$fvc_ml_change)
beta <- sapply(predictors, function(p) co[p, 1] * sd(mf[[p]]) / sd_y)
terms <- data.frame(term = c("Intercept", predictors), b = co[, 1], se = co[, 2], ci_low = ci[, 1],
                    ci_high = ci[, 2], beta = c(NA, unname(beta)), t = co[, 3], p = co[, 4],
                    vif = c(NA, unname(vif(fit))))
s <- summary(fit)
fit_row <- data.frame(n = nrow(mf), r2 = s$r.squared, adj_r2 = s$adj.r.squared, f = unname(s$fstatistic[1]),
                      df_model = unname(s$fstatistic[2]), df_resid = unname(s$fstatistic[3]),
                      f_p = unname(pf(s$fstatistic[1], s$fstatistic[2], s$fstatistic[3], lower.tail = FALSE)),
                      residual_sd = s$sigma)

# ---- Table 1: every patient, and by subgroup with the test ----------------------------------------------------
in_group <- function(g) d[!is.na(d[[subgroup]]) & d[[subgroup]] == g, ]
group_test <- function(samples) {
  samples <- lapply(samples, function(x) tie_round(x[!is.na(x)]))
  if (length(samples) == 2) {
    res <- wilcox.test(samples[[1]], samples[[2]], exact = FALSE, correct = FALSE)
    c(test = "mann_whitney", statistic = unname(res$statistic), p = res$p.value)
  } else {
    res <- kruskal.test(samples)
    c(test = "kruskal_wallis", statistic = unname(res$statistic), p = res$p.value)
  }
}
cont_rows <- list()
for (v in table1_continuous) {
  x <- d[[v]]
  q <- q6(x[!is.na(x)])
  tst <- group_test(lapply(groups, function(g) in_group(g)[[v]]))
  out <- data.frame(variable = v, n = sum(!is.na(x)), q1 = q[1], median = q[2], q3 = q[3], test = tst[["test"]],
                    statistic = as.numeric(tst[["statistic"]]), p = as.numeric(tst[["p"]]))
  for (g in groups) {
    xg <- in_group(g)[[v]]
    qg <- q6(xg[!is.na(xg)])
    out[[paste0(g, "_n")]] <- sum(!is.na(xg))
    out[[paste0(g, "_median")]] <- qg[2]
  }
  cont_rows[[length(cont_rows) + 1]] <- out
}
table1_cont <- do.call(rbind, cont_rows)

cat_rows <- list()
for (v in table1_categorical) {
  sub <- d[!is.na(d[[subgroup]]) & d[[subgroup]] %in% groups & !is.na(d[[v]]), ]
  tab <- table(factor(sub[[subgroup]], levels = groups), sub[[v]])
  tab <- tab[rowSums(tab) > 0, colSums(tab) > 0, drop = FALSE]
  chi <- suppressWarnings(chisq.test(tab, correct = FALSE))
  fi <- fisher.test(tab)
  counts <- table(d[[v]], useNA = "no")
  cat_rows[[length(cat_rows) + 1]] <- data.frame(
    variable = v, levels = paste(names(counts), collapse = "|"), counts = paste(as.integer(counts), collapse = "|"),
    n_known = sum(!is.na(d[[v]])), table = paste(t(tab), collapse = " "), chi2 = unname(chi$statistic),
    dof = unname(chi$parameter), chi2_p = chi$p.value, min_expected = min(chi$expected), fisher_p = fi$p.value)
}
table1_cat <- do.call(rbind, cat_rows)

# ---- Subgroups: the changes compared between the groups (Table 5) ---------------------------------------------
sub_rows <- list()
for (o in outcomes) {
  tst <- group_test(lapply(groups, function(g) in_group(g)[[paste0(o, "_change")]]))
  sub <- d[!is.na(d[[subgroup]]) & d[[subgroup]] %in% groups & !is.na(d[[paste0(o, "_change")]]), ]
  pw <- pairwise.wilcox.test(sub[[paste0(o, "_change")]], factor(sub[[subgroup]], levels = groups),
                             p.adjust.method = "holm", exact = FALSE, correct = FALSE)
  raw <- pairwise.wilcox.test(sub[[paste0(o, "_change")]], factor(sub[[subgroup]], levels = groups),
                              p.adjust.method = "none", exact = FALSE, correct = FALSE)
  pairs <- c()
  for (i in seq_along(groups)) for (j in seq_along(groups)) if (j > i) {
    pairs <- c(pairs, sprintf("%s|%s|%.17g|%.17g", groups[i], groups[j], raw$p.value[groups[j], groups[i]],
                              pw$p.value[groups[j], groups[i]]))
  }
  sub_rows[[length(sub_rows) + 1]] <- data.frame(outcome = o, test = tst[["test"]],
                                                 statistic = as.numeric(tst[["statistic"]]), p = as.numeric(tst[["p"]]),
                                                 pairwise = paste(pairs, collapse = ";"))
}
subgroup_changes <- do.call(rbind, sub_rows)

write_out(paired, "mmf_fvc_r_paired.csv")
if (nrow(landmark_paired)) write_out(landmark_paired, "mmf_fvc_r_landmark_paired.csv")
write_out(spearman, "mmf_fvc_r_spearman.csv")
write_out(terms, "mmf_fvc_r_regression_terms.csv")
write_out(fit_row, "mmf_fvc_r_regression_fit.csv")
write_out(table1_cont, "mmf_fvc_r_table1_continuous.csv")
write_out(table1_cat, "mmf_fvc_r_table1_categorical.csv")
write_out(subgroup_changes, "mmf_fvc_r_subgroup_changes.csv")
