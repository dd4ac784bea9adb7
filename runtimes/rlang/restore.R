# restore.R: restore a bundle's R packages into PODIUM_R_LIB, run by
# package rlang with the chosen R (--vanilla). Inputs (environment):
#   PODIUM_R_LIB       the new library (an empty directory)
#   PODIUM_R_PACKAGES  a DCF file: one record (Package, Version) per package
#   PODIUM_R_REPO      the CRAN-like repository URL, "" for none
# A package in the system library at the requested version or newer is
# used from there. Lines starting "podium-missing: " name a package found
# nowhere (exit status 3); "podium-failed: " one that did not install (4).
options(warn = 1, useFancyQuotes = FALSE)
lib <- Sys.getenv("PODIUM_R_LIB")
repo <- Sys.getenv("PODIUM_R_REPO")
req <- read.dcf(Sys.getenv("PODIUM_R_PACKAGES"), fields = c("Package", "Version"))
syslibs <- unique(c(.Library.site, .Library))

satisfied <- function(name, version, db) {
  i <- which(db[, "Package"] == name)
  length(i) > 0 && any(package_version(db[i, "Version"]) >= package_version(version))
}

sysdb <- installed.packages(lib.loc = syslibs, noCache = TRUE)
need <- integer(0)
for (k in seq_len(nrow(req))) {
  n <- req[k, "Package"]; v <- req[k, "Version"]
  if (satisfied(n, v, sysdb)) {
    cat(sprintf("podium: R package %s %s: from the system library\n", n, v))
  } else {
    need <- c(need, k)
  }
}
if (length(need) == 0) quit(status = 0)

avail <- if (nzchar(repo)) {
  available.packages(contriburl = contrib.url(repo, type = "source"), type = "source")
} else {
  matrix(character(0), ncol = 2, dimnames = list(NULL, c("Package", "Version")))
}
missing <- FALSE
for (k in need) {
  n <- req[k, "Package"]; v <- req[k, "Version"]
  if (!satisfied(n, v, avail)) {
    have <- avail[avail[, "Package"] == n, "Version"]
    cat(sprintf("podium-missing: %s %s (repository has %s)\n", n, v,
                if (length(have)) paste(have, collapse = ", ") else "none"))
    missing <- TRUE
  }
}
if (missing) quit(status = 3)

.libPaths(c(lib, syslibs))
names <- req[need, "Package"]
cat(sprintf("podium: installing R packages from %s: %s\n", repo, paste(names, collapse = ", ")))
install.packages(names, lib = lib, repos = repo, type = "source",
                 dependencies = c("Depends", "Imports", "LinkingTo"), Ncpus = 1L)
db <- installed.packages(lib.loc = lib, noCache = TRUE)
failed <- FALSE
for (k in need) {
  n <- req[k, "Package"]; v <- req[k, "Version"]
  if (!satisfied(n, v, db)) {
    cat(sprintf("podium-failed: %s %s\n", n, v))
    failed <- TRUE
  }
}
if (failed) quit(status = 4)
