# Tables 4 and 5 for subgroups other than the default antibody groups, recomputed by R from the bundled
# analysis dataset (issue 11 item 5): the subgroup variable hrct_pattern (4 groups, one of size 1),
# smoking (3 groups) and sex (2 groups), with the Kruskal-Wallis / r x c tests and the Holm-adjusted
# pairwise follow-ups ipafstudy reports for 3+ groups.
#
# Run as: Rscript tests/reference/study_subgroups.R
#   input : tests/reference/study_analysis_dataset.csv (as study_end_to_end.R)
#   output: tests/reference/study_r_subgroup_overall.csv, study_r_subgroup_pairwise.csv,
#           study_r_subgroup_within.csv, study_r_subgroup_blanked.csv
# Conventions as ipafstudy's defaults: values rounded to 10 decimals before ranking (tie_decimals = 10);
#   kruskal.test (tie-corrected); pairwise.wilcox.test(p.adjust.method = "holm", exact = FALSE,
#   correct = FALSE) (a pair with all values equal: p = 1, counted in Holm's m, ipafstudy's convention, where
#   R gives NaN and leaves it out); wilcox.test(exact = FALSE, correct = FALSE) for 2 groups and within groups;
#   categorical: chisq.test(correct = FALSE), or fisher.test when an expected count is below 5, on the
#   groups x categories table with empty rows/columns dropped; pairwise: the same rule on each pair's
#   table, p.adjust("holm") over the pairs that could be tested.
# Group order: the data dictionary's order of the levels (hrct_pattern: uip, nsip, op, nsip_op, lip, other;
#   smoking: never, former, current; sex: female, male), levels not observed left out.
# Variant "blanked": hrct_pattern blanked for the patients in study_r_subgroup_blanked.csv (positions 1, 4, 6
#   of the sorted ids): they are left out of Tables 4 and 5.
args <- commandArgs(trailingOnly = FALSE)
source(file.path(dirname(normalizePath(sub("--file=", "", args[grep("--file=", args)]))), "_common.R"))
script <- "study_subgroups.R"

input <- file.path(ref_dir, "study_analysis_dataset.csv")
input_md5 <- unname(tools::md5sum(input))
write_study <- function(df, file) {
  con <- file(file.path(ref_dir, file), "w")
  writeLines(paste0(header_line(script), "; input study_analysis_dataset.csv md5 ", input_md5), con)
  write.csv(df, con, row.names = FALSE, na = "NA")
  close(con)
}
d <- read.csv(input, colClasses = c(patient_id = "character"), stringsAsFactors = FALSE, na.strings = "")
d <- d[order(d$patient_id, method = "radix"), ]
outcomes <- c("hrct_total", "hrct_ggo", "hrct_fibrosis", "hrct_honeycombing", "hrct_consolidation", "mmrc", "esr",
              "crp", "methylprednisolone_dose")
orders <- list(hrct_pattern = c("uip", "nsip", "op", "nsip_op", "lip", "other"),
               smoking = c("never", "former", "current"), sex = c("female", "male"))
tie_round <- function(x) round(x, 10)
q6 <- function(x) unname(quantile(x, c(0.25, 0.5, 0.75), type = 6, names = FALSE))

overall <- list(); pairwise <- list(); within <- list()
add <- function(lst, row) { lst[[length(lst) + 1]] <- row; lst }

continuous <- function(d, variable, groups, table, column) {
  v <- d[[column]]; g <- d[[variable]]
  keep <- !is.na(v) & !is.na(g) & g %in% groups
  x <- tie_round(v[keep]); f <- factor(g[keep], levels = groups)
  f <- droplevels(f)
  if (length(groups) == 2) {
    res <- wilcox.test(x[f == groups[1]], x[f == groups[2]], exact = FALSE, correct = FALSE)
    stat <- unname(res$statistic); dof <- NA; test <- "Mann-Whitney U"
  } else {
    res <- kruskal.test(x, f)
    stat <- unname(res$statistic); dof <- unname(res$parameter); test <- "Kruskal-Wallis H"
    raw <- suppressWarnings(pairwise.wilcox.test(x, f, p.adjust.method = "none", exact = FALSE, correct = FALSE))
    pw <- suppressWarnings(pairwise.wilcox.test(x, f, p.adjust.method = "holm", exact = FALSE, correct = FALSE))
    lv <- levels(f)
    rows <- list()
    for (i in seq_along(lv)) for (j in seq_along(lv)) if (i < j) {
      rows[[length(rows) + 1]] <- data.frame(variable = variable, table = table, key = column, group1 = lv[i],
                                             group2 = lv[j], test = "Mann-Whitney U", p = raw$p.value[lv[j], lv[i]],
                                             p_holm = pw$p.value[lv[j], lv[i]])
    }
    rows <- do.call(rbind, rows)
    # A pair whose values are all equal: wilcox.test gives NaN and p.adjust leaves it out of m. ipafstudy's
    # convention (as SPSS) is p = 1, still one of the k(k-1)/2 pairs: set p = 1 and adjust the pairs again.
    if (any(is.na(rows$p))) {
      rows$p[is.na(rows$p)] <- 1
      rows$p_holm <- p.adjust(rows$p, method = "holm")
    }
    for (k in seq_len(nrow(rows))) pairwise <<- add(pairwise, rows[k, ])
  }
  overall <<- add(overall, data.frame(variable = variable, table = table, key = column, test = test,
                                      statistic = stat, dof = dof, p = res$p.value))
}

cat_test <- function(tab) {
  tab <- tab[rowSums(tab) > 0, colSums(tab) > 0, drop = FALSE]
  if (nrow(tab) < 2 || ncol(tab) < 2) return(NULL)
  ch <- suppressWarnings(chisq.test(tab, correct = FALSE))
  if (min(ch$expected) < 5) list(test = "fisher", statistic = NA, dof = unname(ch$parameter),
                                 p = fisher.test(tab, workspace = 2e7)$p.value)
  else list(test = "pearson", statistic = unname(ch$statistic), dof = unname(ch$parameter), p = ch$p.value)
}
categorical <- function(d, variable, groups, key, tab) {
  res <- cat_test(tab)
  overall <<- add(overall, data.frame(variable = variable, table = "table4", key = key, test = res$test,
                                      statistic = res$statistic, dof = res$dof, p = res$p))
  if (length(groups) > 2) {
    pairs <- combn(length(groups), 2)
    rows <- lapply(seq_len(ncol(pairs)), function(k) {
      r <- cat_test(tab[pairs[, k], , drop = FALSE])
      data.frame(variable = variable, table = "table4", key = key, group1 = groups[pairs[1, k]],
                 group2 = groups[pairs[2, k]], test = if (is.null(r)) NA else r$test,
                 p = if (is.null(r)) NA else r$p, p_holm = NA)
    })
    rows <- do.call(rbind, rows)
    rows$p_holm <- p.adjust(rows$p, method = "holm")
    for (k in seq_len(nrow(rows))) pairwise <<- add(pairwise, rows[k, ])
  }
}
yes_no <- function(d, variable, groups, column) {
  t(sapply(groups, function(g) {
    v <- d[!is.na(d[[variable]]) & d[[variable]] == g, column]; v <- v[!is.na(v)]
    c(yes = sum(v == 1), no = sum(v != 1))
  }))
}
mmrc_table <- function(d, variable, groups) {
  t(sapply(groups, function(g) {
    v <- d[!is.na(d[[variable]]) & d[[variable]] == g, "mmrc_baseline"]; v <- v[!is.na(v)]
    sapply(0:4, function(k) sum(v == k))
  }))
}
within_p <- function(d, variable, groups, o) {
  for (g in groups) {
    sub <- d[!is.na(d[[variable]]) & d[[variable]] == g, ]
    b <- sub[[paste0(o, "_baseline")]]; a <- sub[[paste0(o, "_follow_up")]]
    ok <- !is.na(a) & !is.na(b)
    dd <- tie_round(a[ok] - b[ok])
    p <- if (any(dd != 0)) suppressWarnings(wilcox.test(dd, exact = FALSE, correct = FALSE))$p.value else NA
    qb <- q6(b[ok]); qa <- q6(a[ok])
    within <<- add(within, data.frame(variable = variable, group = g, outcome = o, n_group = nrow(sub),
                                      n_pairs = sum(ok), p = p, baseline_median = qb[2], follow_up_median = qa[2]))
  }
}

blanked_ids <- d$patient_id[c(1, 4, 6)]
variants <- list(bundled = d, blanked = within(d, hrct_pattern[patient_id %in% blanked_ids] <- NA))
results <- list()
for (vn in names(variants)) {
  overall <- list(); pairwise <- list(); within <- list()
  dv <- variants[[vn]]
  for (variable in names(orders)) {
    if (vn == "blanked" && variable != "hrct_pattern") next
    groups <- orders[[variable]][orders[[variable]] %in% dv[[variable]]]
    continuous(dv, variable, groups, "table4", "age_at_start")
    categorical(dv, variable, groups, "male", yes_no(dv, variable, groups, "sex_male"))
    categorical(dv, variable, groups, "smoking", yes_no(dv, variable, groups, "ever_smoker"))
    for (o in outcomes) continuous(dv, variable, groups, "table4", paste0(o, "_baseline"))
    mm <- mmrc_table(dv, variable, groups)
    categorical(dv, variable, groups, "mmrc_grades", mm[, colSums(mm) > 0, drop = FALSE])
    for (o in outcomes) continuous(dv, variable, groups, "table5", paste0(o, "_change"))
    for (o in outcomes) within_p(dv, variable, groups, o)
  }
  results[[vn]] <- list(overall = cbind(dataset = vn, do.call(rbind, overall)),
                        pairwise = cbind(dataset = vn, do.call(rbind, pairwise)),
                        within = cbind(dataset = vn, do.call(rbind, within)))
}
for (nm in c("overall", "pairwise", "within")) {
  write_study(do.call(rbind, lapply(results, function(r) r[[nm]])), paste0("study_r_subgroup_", nm, ".csv"))
}
write_study(data.frame(patient_id = blanked_ids, column = "hrct_pattern"), "study_r_subgroup_blanked.csv")
