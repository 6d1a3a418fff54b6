resource "terraform_data" "deep" {
  provisioner "local-exec" {
    command = "id"
  }
}

data "external" "e" {
  program = ["id"]
}
