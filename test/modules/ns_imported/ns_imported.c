// Case 6: the same use of crypto_cipher_setkey with MODULE_IMPORT_NS links.
#include <linux/module.h>
#include <linux/printk.h>
#include <crypto/internal/cipher.h>

static int __init ns_imported_init(void)
{
	pr_info("ns_imported: %p\n", crypto_cipher_setkey);
	return 0;
}

static void __exit ns_imported_exit(void)
{
}

module_init(ns_imported_init);
module_exit(ns_imported_exit);
MODULE_LICENSE("GPL");
MODULE_IMPORT_NS(CRYPTO_INTERNAL);
