/* domain_diff_compare.h: compares the records of the two builds of test_domain_diff.c. */
#ifndef DOMAIN_DIFF_COMPARE_H
#define DOMAIN_DIFF_COMPARE_H

/* Compares libvirt's records (@lv_path) with virtcore's (@vc_path), writes every
 * difference to @report_path and a summary to stdout. Returns 0 when every difference is
 * explained by a rule of the known-differences table, 1 otherwise. */
int domain_diff_compare(const char *lv_path, const char *vc_path, const char *report_path);

#endif
