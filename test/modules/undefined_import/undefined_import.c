// Case 4: an import that nothing exports; modpost reports it undefined.
#include <linux/module.h>

extern int cellctl_no_such_export(void);

static int __init undefined_import_init(void)
{
	return cellctl_no_such_export();
}

static void __exit undefined_import_exit(void)
{
}

module_init(undefined_import_init);
module_exit(undefined_import_exit);
MODULE_LICENSE("GPL");
