// Case 2: the same use of xen_features from a GPL module links fine.
#include <linux/module.h>
#include <linux/printk.h>
#include <xen/features.h>

static int __init gpl_xen_init(void)
{
	pr_info("gpl_xen: feature word %u\n", xen_features[0]);
	return 0;
}

static void __exit gpl_xen_exit(void)
{
}

module_init(gpl_xen_init);
module_exit(gpl_xen_exit);
MODULE_LICENSE("GPL");
