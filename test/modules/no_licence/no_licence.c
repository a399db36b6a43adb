// Case: no MODULE_LICENSE at all. modpost refuses it ("missing MODULE_LICENSE()"); a .ko made anyway
// (KBUILD_MODPOST_WARN=1) loads as licence 'unspecified', which taints the kernel.
#include <linux/module.h>
#include <linux/printk.h>

static int __init no_licence_init(void)
{
	pr_info("no_licence: hello\n");
	return 0;
}

static void __exit no_licence_exit(void)
{
}

module_init(no_licence_init);
module_exit(no_licence_exit);
