# Landmark follow-up recomputed by R for the bundled cohort (plan timepoints.follow_up: {rule: landmarks,
# months: [6, 12], window_days: 45}): the landmark values of the measurement outcomes selected again from the raw
# measurements table, and Table 2's per-landmark Wilcoxon p with Holm across each outcome's landmarks.
#
# Run as: Rscript tests/reference/landmarks_end_to_end.R
#   input : src/ipafstudy/example_data/measurements.csv (the bundled raw measurements)
#           tests/reference/landmarks_exposure.csv (each analysed patient's exposure start and end, from ipafstudy's
#             exposure rule, which its own tests cover) and tests/reference/landmarks_analysis_dataset.csv
#             (analysis_dataset.csv of `ipafstudy analyze` with that plan: baselines and HRCT landmark values)
#   output: tests/reference/landmarks_r_values.csv (patient, outcome, month: value and date chosen by R)
#           tests/reference/landmarks_r_paired.csv (outcome, month: n pairs, Wilcoxon p, Holm p across months)
# Independent of ipafstudy's code: the landmark date is lubridate's `%m+%` (calendar months, a day the month
# lacks becomes its last day); the window is |date - landmark| <= 45 days, after the start day, up to the end of
# exposure; the closest date wins, a tie the earlier; values of one date are averaged. CRP in mg/dL is x 10;
# prednisone_dose is methylprednisolone-equivalent x 4/5 (4 mg methylprednisolone = 5 mg prednisone, docs/data.md).
# Wilcoxon: wilcox.test of the differences rounded to 10 decimals (ipafstudy's tie_decimals), exact = FALSE,
# correct = FALSE (SPSS); Holm: p.adjust(method = "holm") over the outcome's landmarks (NA when no pairs).
suppressMessages(library(lubridate))
args <- commandArgs(trailingOnly = FALSE)
source(file.path(dirname(normalizePath(sub("--file=", "", args[grep("--file=", args)]))), "_common.R"))
script <- "landmarks_end_to_end.R"
pkgs <- c("lubridate")
months_ <- c(6, 12)
window <- 45
measures <- c("mmrc", "esr", "crp", "methylprednisolone_dose")
outcomes <- c("hrct_total", "hrct_ggo", "hrct_fibrosis", "hrct_honeycombing", "hrct_consolidation", measures)

meas <- read.csv(file.path(ref_dir, "..", "..", "src", "ipafstudy", "example_data", "measurements.csv"),
                 colClasses = c(patient_id = "character"), stringsAsFactors = FALSE)
meas$date <- as.Date(meas$date)
meas$value <- ifelse(meas$variable == "crp" & meas$unit == "mg/dL", meas$value * 10, meas$value)
pred <- meas$variable == "prednisone_dose"
meas$value[pred] <- meas$value[pred] * 4 / 5
meas$variable[pred] <- "methylprednisolone_dose"
expo <- read.csv(file.path(ref_dir, "landmarks_exposure.csv"), colClasses = "character", comment.char = "#")
d <- read.csv(file.path(ref_dir, "landmarks_analysis_dataset.csv"), colClasses = c(patient_id = "character"),
              stringsAsFactors = FALSE, na.strings = "")

# Each output's first line names this script, the versions and the md5 of both committed inputs (the test checks
# them, so stale references cannot pass).
input_md5 <- paste0("; inputs landmarks_analysis_dataset.csv md5 ",
                    unname(tools::md5sum(file.path(ref_dir, "landmarks_analysis_dataset.csv"))),
                    " landmarks_exposure.csv md5 ", unname(tools::md5sum(file.path(ref_dir, "landmarks_exposure.csv"))))
write_landmarks <- function(df, file) {
  con <- file(file.path(ref_dir, file), "w")
  writeLines(paste0(header_line(script, pkgs), input_md5), con)
  write.csv(df, con, row.names = FALSE, na = "NA")
  close(con)
}

rows <- list()
for (i in seq_len(nrow(expo))) {
  pid <- expo$patient_id[i]
  start <- as.Date(expo$start[i])
  end <- if (nzchar(expo$end[i])) as.Date(expo$end[i]) else as.Date(NA)
  for (o in measures) {
    own <- meas[meas$patient_id == pid & meas$variable == o & !is.na(meas$value), ]
    for (m in months_) {
      target <- start %m+% months(m)
      dist <- as.numeric(own$date - target)
      ok <- abs(dist) <= window & own$date > start & (is.na(end) | own$date <= end)
      if (!any(ok)) next
      cand <- own[ok, ]
      dd <- abs(as.numeric(cand$date - target))
      best <- min(cand$date[dd == min(dd)])  # a tie in distance: the earlier date
      rows[[length(rows) + 1]] <- data.frame(patient_id = pid, outcome = o, month = m,
                                             value = mean(cand$value[cand$date == best]),
                                             date = format(best), landmark = format(target))
    }
  }
}
values <- do.call(rbind, rows)
values <- values[order(values$patient_id, values$outcome, values$month, method = "radix"), ]
write_landmarks(values, "landmarks_r_values.csv")

# tie_round comes from _common.R
paired <- list()
for (o in outcomes) {
  p <- c()
  n <- c()
  for (m in months_) {
    a <- d[[paste0(o, "_m", m)]]
    b <- d[[paste0(o, "_baseline")]]
    keep <- !is.na(a) & !is.na(b)
    dd <- tie_round(a[keep] - b[keep])
    n <- c(n, sum(keep))
    p <- c(p, if (sum(keep) > 0 && any(dd != 0)) wilcox.test(dd, exact = FALSE, correct = FALSE)$p.value
              else if (sum(keep) > 0) 1 else NA)
  }
  paired[[o]] <- data.frame(outcome = o, month = months_, n_pairs = n, p = p, p_holm = p.adjust(p, "holm"))
}
write_landmarks(do.call(rbind, paired), "landmarks_r_paired.csv")
