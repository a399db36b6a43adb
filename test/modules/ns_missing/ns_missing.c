// Case 5: a GPL module using a namespaced export (crypto_cipher_setkey, namespace
// CRYPTO_INTERNAL) without MODULE_IMPORT_NS; modpost refuses it.
#include <linux/module.h>
#include <linux/printk.h>
#include <crypto/internal/cipher.h>

static int __init ns_missing_init(void)
{
	pr_info("ns_missing: %p\n", crypto_cipher_setkey);
	return 0;
}

static void __exit ns_missing_exit(void)
{
}

module_init(ns_missing_init);
module_exit(ns_missing_exit);
MODULE_LICENSE("GPL");
