// Case 1: a non-GPL module (OpenAFS's licence string) that uses xen_features,
// which the kernel exports EXPORT_SYMBOL_GPL. modpost must refuse to link it.
#include <linux/module.h>
#include <linux/printk.h>
#include <xen/features.h>

static int __init nongpl_xen_init(void)
{
	pr_info("nongpl_xen: feature word %u\n", xen_features[0]);
	return 0;
}

static void __exit nongpl_xen_exit(void)
{
}

module_init(nongpl_xen_init);
module_exit(nongpl_xen_exit);
MODULE_LICENSE("http://www.openafs.org/dl/license10.html");
