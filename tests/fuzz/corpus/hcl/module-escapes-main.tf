module "up" {
  source = "../outside"
}

module "sneaky" {
  source = "./a/../../../etc"
}
