# The whole study recomputed by R from the analysis dataset ipafstudy wrote for the bundled cohort
# (Tables 2-5, the Spearman matrix of the changes and the Table 3 regression), so a biostatistician
# can see that R and ipafstudy agree on the actual tables, not only on toy data.
#
# Run as: Rscript tests/reference/study_end_to_end.R
#   input : tests/reference/study_analysis_dataset.csv (copy of analysis_dataset.csv from
#           `ipafstudy synth --bundled --out D && ipafstudy analyze D --out O`)
#   output: tests/reference/study_r_paired.csv, study_r_mann_whitney.csv, study_r_categorical.csv,
#           study_r_spearman.csv, study_r_regression_terms.csv, study_r_regression_fit.csv
# Every output starts with a comment line naming this script, the R and package versions and the md5
# of the input dataset (tests/analysis/test_against_r.py checks it against the committed dataset).
#
# Conventions (SPSS, /work/shared/spec/statistics.md), all spelled out in the calls below:
#   quartiles: quantile(type = 6); Wilcoxon: wilcox.test(after, before, paired = TRUE, exact = FALSE,
#   correct = FALSE) (zeros dropped, tie-corrected normal approximation) and coin::wilcoxsign_test(
#   zero.method = "Wilcoxon", distribution = "asymptotic") for z; r = |z| / sqrt(n pairs);
#   Mann-Whitney: wilcox.test(exact = FALSE, correct = FALSE) and coin::wilcox_test for |z|;
#   Spearman: cor.test(method = "spearman", exact = FALSE) (t approximation), Holm over the distinct pairs;
#   categorical: chisq.test(correct = FALSE) and fisher.test; regression: lm, confint, car::vif,
#   lmtest::bptest (Koenker), shapiro.test of the residuals.
# Ties are DECIMAL (ipafstudy's default tie_decimals = 10): differences and changes are rounded to 10
# decimals before ranking, so two CRP changes that are both -0.94 on paper (1.98 -> 1.04, 1.62 -> 0.68)
# tie although the two doubles differ in the last bit. R's default (digits.rank = Inf) ranks the raw
# doubles; those p values are written as p_exact_doubles columns, the reference for tie_decimals = None.
suppressMessages({library(coin); library(car); library(lmtest)})
args <- commandArgs(trailingOnly = FALSE)
source(file.path(dirname(normalizePath(sub("--file=", "", args[grep("--file=", args)]))), "_common.R"))
script <- "study_end_to_end.R"
pkgs <- c("coin", "car", "lmtest")

input <- file.path(ref_dir, "study_analysis_dataset.csv")
input_md5 <- unname(tools::md5sum(input))
write_study <- function(df, file) {
  path <- file.path(ref_dir, file)
  con <- file(path, "w")
  writeLines(paste0(header_line(script, pkgs), "; input study_analysis_dataset.csv md5 ", input_md5), con)
  write.csv(df, con, row.names = FALSE, na = "NA")
  close(con)
}

d <- read.csv(input, colClasses = c(patient_id = "character"), stringsAsFactors = FALSE, na.strings = "")
d <- d[order(d$patient_id, method = "radix"), ]

# The default analysis plan (ipafstudy plan --default).
outcomes <- c("hrct_total", "hrct_ggo", "hrct_fibrosis", "hrct_honeycombing", "hrct_consolidation", "mmrc", "esr",
              "crp", "methylprednisolone_dose")
corr_outcomes <- outcomes[outcomes != "methylprednisolone_dose"]
groups <- c("MSA", "MAA")
predictors <- c("hrct_consolidation_baseline", "hrct_ggo_baseline", "ever_smoker", "hrct_total_baseline")

# The dataset's change column must be exactly follow-up minus baseline as R computes it: the tables use the
# change column for Mann-Whitney and Spearman, and R's wilcox.test forms the differences itself.
check_changes <- function(d) {
  for (o in outcomes) {
    change <- d[[paste0(o, "_follow_up")]] - d[[paste0(o, "_baseline")]]
    stopifnot(identical(is.na(change), is.na(d[[paste0(o, "_change")]])),
              all(change == d[[paste0(o, "_change")]], na.rm = TRUE))
  }
}

# q6, tie_round and tie_term come from _common.R
na_on_error <- function(expr) tryCatch(suppressWarnings(expr), error = function(e) NULL)

# ---- Table 2 (all analysed) and Table 5 within groups (P1, P2): Wilcoxon signed-rank --------------
paired_row <- function(sub, o, group) {
  b_all <- sub[[paste0(o, "_baseline")]]
  a_all <- sub[[paste0(o, "_follow_up")]]
  ok <- !is.na(b_all) & !is.na(a_all)
  b <- b_all[ok]
  a <- a_all[ok]
  dd <- tie_round(a - b)
  nz <- dd[dd != 0]
  n <- length(nz)
  # The paired test is the one-sample test of the (rounded) differences.
  res <- if (n > 0) na_on_error(wilcox.test(dd, exact = FALSE, correct = FALSE)) else NULL
  cres <- if (n > 0) na_on_error(wilcoxsign_test(d ~ zero, data = data.frame(d = dd, zero = 0),
                                                 zero.method = "Wilcoxon", distribution = "asymptotic")) else NULL
  ranks <- rank(abs(nz), ties.method = "average")
  w_plus <- sum(ranks[nz > 0])
  ties <- tie_term(abs(nz))
  z <- if (n > 0) (w_plus - n * (n + 1) / 4) / sqrt(n * (n + 1) * (2 * n + 1) / 24 - ties / 48) else NA
  sw <- function(x) na_on_error(shapiro.test(x))
  sws <- list(baseline = sw(b), follow_up = sw(a), difference = sw(dd))
  qb <- q6(b); qa <- q6(a); qd <- q6(dd)
  out <- data.frame(
    group = group, outcome = o, n_patients = nrow(sub), n_pairs = length(dd), n_nonzero = n,
    n_increased = sum(dd > 0), n_decreased = sum(dd < 0), n_unchanged = sum(dd == 0), tie_sum_t3_t = ties,
    w_plus = if (is.null(res)) NA else unname(res$statistic), w_minus = sum(ranks[nz < 0]),
    z = z, z_coin = if (is.null(cres)) NA else unname(statistic(cres, type = "standardized")[1]),
    p = if (is.null(res)) NA else res$p.value, p_coin = if (is.null(cres)) NA else as.numeric(pvalue(cres)),
    # R's default on the raw doubles: the reference for ipafstudy's tie_decimals = None
    p_exact_doubles = if (is.null(res)) NA else na_on_error(wilcox.test(a, b, paired = TRUE, exact = FALSE,
                                                                        correct = FALSE))$p.value,
    r = abs(z) / sqrt(length(dd)),
    baseline_q1 = qb[1], baseline_median = qb[2], baseline_q3 = qb[3],
    follow_up_q1 = qa[1], follow_up_median = qa[2], follow_up_q3 = qa[3],
    change_q1 = qd[1], change_median = qd[2], change_q3 = qd[3], median_change = median(dd)
  )
  for (nm in names(sws)) {
    out[[paste0("shapiro_", nm, "_w")]] <- if (is.null(sws[[nm]])) NA else unname(sws[[nm]]$statistic)
    out[[paste0("shapiro_", nm, "_p")]] <- if (is.null(sws[[nm]])) NA else sws[[nm]]$p.value
  }
  out
}
in_group <- function(d, g) d[!is.na(d$antibody_group) & d$antibody_group == g, ]
paired_table <- function(d) {
  rows <- list()
  for (o in outcomes) rows[[length(rows) + 1]] <- paired_row(d, o, "all")
  for (g in groups) for (o in outcomes) rows[[length(rows) + 1]] <- paired_row(in_group(d, g), o, g)
  do.call(rbind, rows)
}

# ---- Table 4 (baseline, continuous) and Table 5 P3 (changes): Mann-Whitney MSA vs MAA ---------------
mw_row <- function(d, table, column) {
  x <- in_group(d, groups[1])[[column]]
  y <- in_group(d, groups[2])[[column]]
  x_raw <- x[!is.na(x)]
  y_raw <- y[!is.na(y)]
  x <- tie_round(x_raw)
  y <- tie_round(y_raw)
  n1 <- length(x); n2 <- length(y); big_n <- n1 + n2
  res <- wilcox.test(x, y, paired = FALSE, exact = FALSE, correct = FALSE, alternative = "two.sided")
  w <- unname(res$statistic)  # U of the first group (MSA)
  ties <- tie_term(c(x, y))
  z <- (w - n1 * n2 / 2) / sqrt(n1 * n2 / 12 * ((big_n + 1) - ties / (big_n * (big_n - 1))))
  frame <- data.frame(v = c(x, y), g = factor(rep(groups, c(n1, n2)), levels = groups))
  cres <- wilcox_test(v ~ g, data = frame, distribution = "asymptotic")
  qx <- q6(x); qy <- q6(y)
  data.frame(table = table, column = column, n1 = n1, n2 = n2, u1 = w, u = min(w, n1 * n2 - w), z = z,
             z_coin_abs = abs(unname(statistic(cres, type = "standardized")[1])), p = res$p.value,
             p_coin = as.numeric(pvalue(cres)), r = abs(z) / sqrt(big_n),
             p_exact_doubles = wilcox.test(x_raw, y_raw, paired = FALSE, exact = FALSE, correct = FALSE,
                                           alternative = "two.sided")$p.value,
             g1_q1 = qx[1], g1_median = qx[2], g1_q3 = qx[3], g2_q1 = qy[1], g2_median = qy[2], g2_q3 = qy[3])
}
mw_table <- function(d) {
  rows <- list(mw_row(d, "table4", "age_at_start"))
  for (o in outcomes) rows[[length(rows) + 1]] <- mw_row(d, "table4", paste0(o, "_baseline"))
  for (o in outcomes) rows[[length(rows) + 1]] <- mw_row(d, "table5", paste0(o, "_change"))
  do.call(rbind, rows)
}

# ---- Table 4 categorical rows: 2 x 2 (yes/no by group) and the mMRC grade-by-group table ------------
cat_row <- function(key, tab) {
  tab <- tab[rowSums(tab) > 0, colSums(tab) > 0, drop = FALSE]
  chi <- suppressWarnings(chisq.test(tab, correct = FALSE))
  fi <- fisher.test(tab, alternative = "two.sided")
  data.frame(key = key, n = sum(tab), rows = nrow(tab), cols = ncol(tab), table = paste(t(tab), collapse = " "),
             chi2 = unname(chi$statistic), dof = unname(chi$parameter), chi2_p = chi$p.value,
             min_expected = min(chi$expected), fisher_p = fi$p.value)
}
yes_no <- function(d, column) {
  t(sapply(groups, function(g) {
    v <- in_group(d, g)[[column]]
    v <- v[!is.na(v)]
    c(yes = sum(v == 1), no = sum(v != 1))
  }))
}
categorical_table <- function(d) {
  mmrc <- t(sapply(groups, function(g) {
    v <- in_group(d, g)$mmrc_baseline
    v <- v[!is.na(v)]
    sapply(0:4, function(k) sum(v == k))
  }))
  rbind(cat_row("male", yes_no(d, "sex_male")), cat_row("smoking", yes_no(d, "ever_smoker")),
        cat_row("mmrc_grades", mmrc))
}

# ---- Figure 2: Spearman matrix of the changes (pairwise complete), Holm over the distinct pairs -------
spearman_table <- function(d) {
  rows <- list()
  for (i in seq_along(corr_outcomes)) {
    for (j in seq_along(corr_outcomes)) {
      if (j <= i) next
      x <- d[[paste0(corr_outcomes[i], "_change")]]
      y <- d[[paste0(corr_outcomes[j], "_change")]]
      ok <- !is.na(x) & !is.na(y)
      res <- cor.test(tie_round(x[ok]), tie_round(y[ok]), method = "spearman", exact = FALSE,
                      alternative = "two.sided")
      raw <- cor.test(x[ok], y[ok], method = "spearman", exact = FALSE, alternative = "two.sided")
      rows[[length(rows) + 1]] <- data.frame(var1 = corr_outcomes[i], var2 = corr_outcomes[j], n = sum(ok),
                                             rho = unname(res$estimate), p = res$p.value,
                                             p_exact_doubles = raw$p.value)
    }
  }
  sp <- do.call(rbind, rows)
  sp$p_holm <- p.adjust(sp$p, method = "holm")
  sp
}

# ---- Table 3: OLS of the change in total HRCT score on the planned baseline predictors ----------------
regression_tables <- function(d) {
  frame <- d[, c("hrct_total_change", predictors)]
  fit <- lm(hrct_total_change ~ hrct_consolidation_baseline + hrct_ggo_baseline + ever_smoker + hrct_total_baseline,
            data = frame, na.action = na.omit)
  mf <- model.frame(fit)
  co <- summary(fit)$coefficients
  ci <- confint(fit, level = 0.95)
  sd_y <- sd(mf$hrct_total_change)
  beta <- sapply(predictors, function(p) co[p, 1] * sd(mf[[p]]) / sd_y)
  terms <- data.frame(term = c("Intercept", predictors), b = co[, 1], se = co[, 2], ci_low = ci[, 1],
                      ci_high = ci[, 2], beta = c(NA, unname(beta)), t = co[, 3], p = co[, 4],
                      vif = c(NA, unname(vif(fit))))
  s <- summary(fit)
  bp <- bptest(fit, studentize = TRUE)
  sw <- shapiro.test(residuals(fit))
  fit_row <- data.frame(n = nrow(mf), n_dropped = nrow(frame) - nrow(mf), r2 = s$r.squared,
                        adj_r2 = s$adj.r.squared, f = unname(s$fstatistic[1]), df_model = unname(s$fstatistic[2]),
                        df_resid = unname(s$fstatistic[3]),
                        f_p = unname(pf(s$fstatistic[1], s$fstatistic[2], s$fstatistic[3], lower.tail = FALSE)),
                        residual_sd = s$sigma, bp_lm = unname(bp$statistic), bp_p = bp$p.value,
                        shapiro_w = unname(sw$statistic), shapiro_p = sw$p.value)
  list(terms = terms, fit = fit_row)
}

# ---- Two variants of the dataset ----------------------------------------------------------------------
# "bundled": the dataset as written. "with_missing": the same file with the cells listed in
# study_missing_cells.csv blanked (a blanked baseline or follow-up also blanks that outcome's change), so
# pairing by patient id, listwise deletion in the regression, pairwise-complete Spearman cells and patients
# without an antibody group are checked too (the bundled cohort has no missing outcome values). The cells
# are chosen by position in the sorted patient ids and written out, so both sides blank the same cells.
ids <- d$patient_id
missing_cells <- data.frame(
  patient_id = ids[c(2, 3, 5, 7, 9, 11, 13, 17)],
  column = c("age_at_start", "esr_follow_up", "crp_baseline", "hrct_ggo_baseline", "antibody_group", "ever_smoker",
             "mmrc_follow_up", "hrct_total_follow_up")
)
blank_cells <- function(d, cells) {
  for (k in seq_len(nrow(cells))) {
    row <- d$patient_id == cells$patient_id[k]
    column <- cells$column[k]
    d[row, column] <- NA
    code <- sub("_(baseline|follow_up)$", "", column)
    if (code != column) d[row, paste0(code, "_change")] <- NA
  }
  d
}
variants <- list(bundled = d, with_missing = blank_cells(d, missing_cells))
tables <- list(paired = list(), mann_whitney = list(), categorical = list(), spearman = list(),
               regression_terms = list(), regression_fit = list())
for (v in names(variants)) {
  dv <- variants[[v]]
  check_changes(dv)
  reg <- regression_tables(dv)
  parts <- list(paired = paired_table(dv), mann_whitney = mw_table(dv), categorical = categorical_table(dv),
                spearman = spearman_table(dv), regression_terms = reg$terms, regression_fit = reg$fit)
  for (nm in names(parts)) tables[[nm]][[v]] <- cbind(dataset = v, parts[[nm]])
}
write_study(missing_cells, "study_missing_cells.csv")
for (nm in names(tables)) write_study(do.call(rbind, unname(tables[[nm]])), paste0("study_r_", nm, ".csv"))
