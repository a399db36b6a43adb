// Case 3: a non-GPL module that only uses plain EXPORT_SYMBOL symbols (printk) links.
// It also has a weak import nothing exports: modpost (and the loader) leave it NULL.
#include <linux/module.h>
#include <linux/printk.h>

extern int cellctl_weak_missing(void) __attribute__((weak));

static int __init nongpl_printk_init(void)
{
	pr_info("nongpl_printk: hello\n");
	return cellctl_weak_missing ? cellctl_weak_missing() : 0;
}

static void __exit nongpl_printk_exit(void)
{
}

module_init(nongpl_printk_init);
module_exit(nongpl_printk_exit);
MODULE_LICENSE("http://www.openafs.org/dl/license10.html");
